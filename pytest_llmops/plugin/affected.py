"""``--llmops-affected=BASE_RECORD``: run only the tests a change can affect; carry the others over from the base.

A test is affected when the base record does not have it, when it did not pass (or skip) there, or when what it
used differs from what the base record says it used: a prompt version's content hash, its golden case (per-case
content hash), its recording file, or the judge templates (for tests using the ``judge`` fixture).  Every other
test is skipped with a reason starting with :data:`REASON`; on the controller its entry in this run's record is
the base record's entry, marked ``recordings.affected.carried_over`` with a note, so a diff against the base sees
it unchanged.  The fingerprints this needs are written into every run record by :func:`fingerprint`.
"""

from __future__ import annotations

import copy
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from . import assets as _assets
from . import calls as _calls
from .state import RunState

REASON = "llmops-affected: unaffected by this change"
_BASE_KEY = pytest.StashKey[dict[str, Any]]()


def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def judge_templates_digest(state: RunState) -> str:
    """One digest over the packaged judge templates and the project's overrides (ini llmops_judge_templates)."""
    digest = hashlib.sha256()
    packaged = resources.files("pytest_llmops").joinpath("templates")
    for entry in sorted(packaged.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".j2"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    configured = state.option("judge_templates")
    if configured and (state.rootpath / configured).is_dir():
        for path in sorted((state.rootpath / configured).glob("*.j2")):
            digest.update(b"override:" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def case_digest(item: pytest.Item) -> str | None:
    """Content hash of this item's golden case (its fields as written, not where they were written)."""
    from ..common.canonical import content_digest

    param = getattr(getattr(item, "callspec", None), "params", {}).get("golden_case")
    case = param[1] if isinstance(param, tuple) and len(param) == 2 else None
    return content_digest(case.model_dump(mode="json")) if hasattr(case, "model_dump") else None


def fingerprint(state: RunState, item: pytest.Item, data: dict[str, Any]) -> None:
    """Note what this test used beyond prompts (already recorded): its case hash, recording file, judge."""
    info: dict[str, Any] = {"cassette_sha256": _file_digest(_calls.cassette_path(state, item))}
    if "judge" in getattr(item, "fixturenames", ()):
        info["judge_templates_sha256"] = judge_templates_digest(state)
    digest = case_digest(item)
    if digest is not None:
        info["case_sha256"] = digest
    recordings = data.setdefault("recordings", {})
    recordings["fingerprint"] = {**(recordings.get("fingerprint") or {}), **info}


def _base_tests(state: RunState, path: str) -> dict[str, Any]:
    config = state.config
    if _BASE_KEY not in config.stash:
        from ..record.io import read_json

        base = Path(config.invocation_params.dir) / path
        if not base.is_file():
            raise pytest.UsageError(f"--llmops-affected: {base} does not exist; pass the run record of the base run")
        record = read_json(base)
        config.stash[_BASE_KEY] = {"path": str(base), "tests": {t["nodeid"]: t for t in record.get("tests") or []}}
    return config.stash[_BASE_KEY]


def why_affected(state: RunState, item: pytest.Item, base: dict[str, Any] | None) -> str | None:
    """Why this item must run (None: it is unaffected)."""
    if base is None:
        return "new: not in the base record"
    if base.get("outcome") not in ("passed", "skipped", "xfailed"):
        return f"was {base.get('outcome')} in the base record"
    registry = _assets.registry_for(state, Path(item.path))
    for ref in base.get("prompts") or []:
        try:
            current = registry.get(ref["name"], ref["version"]).hash
        except Exception:  # noqa: BLE001 - a prompt or version that is gone is a change
            current = None
        if current != ref.get("hash"):
            return f"prompt {ref['name']}@{ref['version']} changed"
    mark = item.get_closest_marker("prompt")
    params = getattr(getattr(item, "callspec", None), "params", {})
    if mark is not None and mark.args:
        version = params.get("prompt") or mark.kwargs.get("version")
        try:
            pv = registry.get(mark.args[0], version)
        except Exception:  # noqa: BLE001
            return f"prompt {mark.args[0]} cannot be loaded"
        if {"name": pv.name, "version": pv.version, "hash": pv.hash} not in (base.get("prompts") or []):
            return f"prompt {pv.ref} is not what the base used"
    return _why_fingerprint(state, item, base)


def _why_fingerprint(state: RunState, item: pytest.Item, base: dict[str, Any]) -> str | None:
    old = (base.get("recordings") or {}).get("fingerprint")
    if old is None:
        return "the base record has no fingerprints (recorded before --llmops-affected existed)"
    data: dict[str, Any] = {}
    fingerprint(state, item, data)
    new = data["recordings"]["fingerprint"]
    for key, what in (("case_sha256", "golden case"), ("cassette_sha256", "recording"),
                      ("judge_templates_sha256", "judge templates")):
        if old.get(key) != new.get(key):
            return f"{what} changed"
    return None


def select(state: RunState, items: list[pytest.Item]) -> None:
    """Skip (with :data:`REASON`) every item the change cannot affect."""
    base = _base_tests(state, state.option("affected"))
    for item in items:
        if why_affected(state, item, base["tests"].get(item.nodeid)) is None:
            item.add_marker(pytest.mark.skip(reason=f"{REASON} (base record {Path(base['path']).name})"))


def carry_over(state: RunState) -> None:
    """Controller: replace the entries of unaffected tests with their base entries, marked as carried over."""
    base = _base_tests(state, state.option("affected"))
    for nodeid, entry in list(state.collector.entries.items()):
        if entry.get("outcome") != "skipped" or REASON not in str(entry.get("message") or ""):
            continue
        carried = copy.deepcopy(base["tests"].get(nodeid))
        if carried is None:
            continue
        carried["notes"] = [*(carried.get("notes") or []), f"{REASON}: carried over from {base['path']}"]
        recordings = carried.setdefault("recordings", {})
        recordings["affected"] = {"carried_over": True, "base": base["path"], "skip_reason": REASON}
        state.collector.entries[nodeid] = carried
