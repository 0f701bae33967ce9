"""Recordings a complete run did not use (like syrupy's unused snapshots): listed, and pruned on request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import LlmopsError
from .state import RunState


def recording_roots(state: RunState, tests: list[dict[str, Any]]) -> set[Path]:
    rootdir = state.rootpath
    configured = state.option("recordings")
    if configured:
        return {rootdir / configured}
    return {(rootdir / t["file"]).parent / "recordings" for t in tests}


def _owner_nodeid(path: Path) -> str:
    from ..calls.cassette import read_document

    return str(read_document(path).get("test", ""))


def find_unused(state: RunState, tests: list[dict[str, Any]], complete: bool) -> list[str]:
    """Unused cassette files (complete runs only) and unused entries of cassettes that were used."""
    from ..calls.cassette import find_unused_cassettes, prune

    unused: list[str] = []
    entries: dict[str, list[str]] = {}
    for test in tests:
        rec = test.get("recordings") or {}
        if rec.get("unused_keys") and rec.get("cassette"):
            entries[rec["cassette"]] = list(rec["unused_keys"])
            unused.extend(f"{rec['cassette']}#{key[:12]}" for key in rec["unused_keys"])
    if not complete:
        return sorted(unused)
    seen = {t["nodeid"] for t in tests}
    run_files = {t["file"] for t in tests}
    for root in sorted(recording_roots(state, tests)):
        if not root.is_dir():
            continue
        try:
            owners = {path: _owner_nodeid(path) for path in find_unused_cassettes(root, seen)}
            # only cassettes of test modules this run collected: a subset of files says nothing about the others
            files = [path for path, owner in owners.items() if owner.partition("::")[0] in run_files]
            if state.option("prune_recordings"):
                keep = seen | {owner for path, owner in owners.items() if path not in files}
                prune(root, keep, unused_entries=entries)
        except LlmopsError as exc:
            state.final_lines.append(f"could not check recordings under {root}: {exc}")
            continue
        unused.extend(str(path) for path in files)
    return sorted(unused)
