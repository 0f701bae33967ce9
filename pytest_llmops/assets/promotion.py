"""Promote a prompt version to ``current:`` on evidence, and roll back to the previously promoted one.

A promotion is accepted only when the evidence run record ran tests of exactly that version (same name,
version and content hash as the file now holds), none of them failed or errored, and at least one passed.
The regression check against a baseline (``review.diff`` under ``--fail-on`` rules) happens in the caller,
which passes its reasons in: this module stays below ``review`` in the layering.

Every accepted change appends an entry to the file's ``promotions:`` list (the registry reads it with
:meth:`~pytest_llmops.assets.prompts.PromptRegistry.promotions`).  Rollback replays that history as a stack
(promote pushes, rollback pops) and returns ``current:`` to the version below the top, refusing when the file
was changed by hand since or that version's content no longer matches the hash it was promoted with.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..common.atomic import write_atomic
from ..errors import PromptError
from .prompt_edit import edit_prompt_text
from .prompts import PromptRegistry, PromptVersion

PASSING = ("passed", "xfailed")
FAILING = ("failed", "error", "xpassed")


class PromotionRefused(PromptError):
    """The evidence does not support the change; the message says why.  The file is left untouched."""


@dataclass
class Evidence:
    """What a run record says about one prompt version: its tests by outcome, and the record's digest."""

    path: str
    sha256: str
    interrupted: bool = False
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    other_hash: dict[str, str] = field(default_factory=dict)  # nodeid -> hash the test ran with (when different)
    regressions: list[str] = field(default_factory=list)  # reasons from the baseline diff under --fail-on
    baseline_sha256: str | None = None
    fail_on: str | None = None


def file_digest(path: Path | str) -> str:
    """sha256 of a file's bytes (the evidence record's identity in the history)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise PromptError(f"cannot read {path}: {exc.strerror or exc}") from None


def collect_evidence(version: PromptVersion, tests: list[dict[str, Any]], path: str, sha256: str) -> Evidence:
    """Sort the record's tests that used ``version`` (by name and version) into passed, failed, other hash."""
    evidence = Evidence(path=path, sha256=sha256)
    for test in tests:
        used = [p for p in test.get("prompts") or [] if p.get("name") == version.name
                and p.get("version") == version.version]
        if not used:
            continue
        nodeid = str(test.get("nodeid"))
        wrong = next((p["hash"] for p in used if p.get("hash") != version.hash), None)
        if wrong is not None:
            evidence.other_hash[nodeid] = str(wrong)
        elif test.get("outcome") in PASSING:
            evidence.passed.append(nodeid)
        elif test.get("outcome") in FAILING:
            evidence.failed.append(nodeid)
    return evidence


def _listed(nodeids: list[str], limit: int = 5) -> str:
    more = f" and {len(nodeids) - limit} more" if len(nodeids) > limit else ""
    return ", ".join(nodeids[:limit]) + more


def refusal_reasons(version: PromptVersion, evidence: Evidence) -> list[str]:
    """Why ``evidence`` does not support making ``version`` current (empty: it does)."""
    ref, where = version.ref, evidence.path
    reasons: list[str] = []
    if evidence.interrupted:
        reasons.append(f"{where} is from an interrupted run; run the tests to the end")
    if evidence.other_hash:
        hashes = sorted({h[:16] for h in evidence.other_hash.values()})
        reasons.append(
            f"{where} ran {ref} with content hash {', '.join(hashes)} but the file now has {version.short_hash} "
            f"(the version was edited after the run): {_listed(sorted(evidence.other_hash))}; run its tests again"
        )
    if evidence.failed:
        reasons.append(f"{len(evidence.failed)} test(s) of {ref} did not pass in {where}: {_listed(evidence.failed)}")
    if not evidence.passed and not evidence.other_hash and not evidence.failed:
        reasons.append(f"{where} ran no test of {ref} (skipped tests do not count); run the tests that use it "
                       "(e.g. @pytest.mark.prompt) with --llmops-report and pass that record")
    reasons.extend(f"baseline diff: {reason}" for reason in evidence.regressions)
    return reasons


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _write(registry: PromptRegistry, name: str, previous: str, current: str, entry: dict[str, Any]) -> None:
    """Edit the prompt file under a lock, refusing if ``current:`` changed since the decision was made."""
    from filelock import FileLock

    path = registry.get(name).source
    with FileLock(str(_lock_path(path)), timeout=60):
        registry.clear_cache()
        if registry.current_version(name) != previous:
            raise PromotionRefused(f"{path} changed while deciding (current is now "
                                   f"{registry.current_version(name)!r}, was {previous!r}); run the command again")
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        new_text = edit_prompt_text(raw.decode("utf-8-sig"), current, entry)
        write_atomic(path, ("\ufeff" if bom else "") + new_text)
        registry.clear_cache()


def _lock_path(path: Path) -> Path:
    """Lock file of a prompt file (in the temp dir, so the project gets no ``.lock`` files)."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"pytest-llmops-prompt-{digest}.lock"


def promote(registry: PromptRegistry, name: str, version: str, evidence: Evidence) -> dict[str, Any]:
    """Make ``name@version`` current if the evidence supports it; returns the history entry written."""
    target = registry.get(name, version)
    previous = registry.current_version(name)
    if version == previous:
        raise PromotionRefused(f"{target.ref} is already current in {target.source}; nothing to promote")
    reasons = refusal_reasons(target, evidence)
    if reasons:
        raise PromotionRefused(
            f"refusing to promote {target.ref}:\n" + "\n".join(f"  - {reason}" for reason in reasons)
        )
    entry: dict[str, Any] = {
        "action": "promote", "version": version, "hash": target.hash, "previous": previous,
        "evidence": evidence.path, "evidence_sha256": evidence.sha256, "tests_passed": len(evidence.passed),
    }
    if evidence.baseline_sha256:
        entry["baseline_sha256"] = evidence.baseline_sha256
        entry["fail_on"] = evidence.fail_on
    entry["at"] = _now()
    _write(registry, name, previous, version, entry)
    return entry


def promoted_stack(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The promotions still in force: each ``promote`` pushes its entry, each ``rollback`` pops one."""
    stack: list[dict[str, Any]] = []
    for entry in history:
        if entry.get("action") == "promote":
            stack.append(entry)
        elif entry.get("action") == "rollback" and stack:
            stack.pop()
    return stack


def rollback(registry: PromptRegistry, name: str) -> dict[str, Any]:
    """Return ``current:`` to the version promoted before the current one; returns the history entry written."""
    current = registry.current_version(name)
    source = registry.get(name).source
    stack = promoted_stack(registry.promotions(name))
    if not stack:
        raise PromotionRefused(f"refusing to roll back {name}: {source} has no promotion in force to undo "
                               "(none recorded, or all rolled back already)")
    top = stack[-1]
    if top.get("version") != current:
        raise PromotionRefused(
            f"refusing to roll back {name}: current is {current!r} but the last promotion made {top.get('version')!r} "
            f"current ({top.get('at')}); the file was edited by hand since, set 'current:' yourself"
        )
    target_version = stack[-2].get("version") if len(stack) > 1 else top.get("previous")
    expected_hash = stack[-2].get("hash") if len(stack) > 1 else None
    if not target_version or target_version == current:
        raise PromotionRefused(f"refusing to roll back {name}: no earlier version was promoted before {current!r}")
    target = registry.get(name, str(target_version))
    if expected_hash and target.hash != expected_hash:
        raise PromotionRefused(
            f"refusing to roll back {name} to {target.ref}: its content changed since it was promoted "
            f"(hash {str(expected_hash)[:16]} then, {target.short_hash} now); promote a version with evidence"
        )
    entry = {"action": "rollback", "version": target.version, "hash": target.hash, "previous": current,
             "at": _now()}
    _write(registry, name, current, target.version, entry)
    return entry
