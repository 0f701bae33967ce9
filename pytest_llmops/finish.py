"""End of session on the controller: build the run record, check aggregates, write files, compare."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .aggregates import compute_aggregates, describe
from .collector import compute_totals
from .errors import LlmopsError

if TYPE_CHECKING:
    import pytest

    from .session import LlmopsSession

INTERRUPTED = 2


def build_record(state: "LlmopsSession", exitstatus: int) -> dict[str, Any]:
    import pytest

    from .meta import run_info

    finished = _dt.datetime.now(_dt.timezone.utc)
    started = _dt.datetime.fromisoformat(state.started_at)
    run = run_info(
        plugin_version=__version__,
        pytest_version=pytest.__version__,
        started_at=state.started_at,
        rootdir=Path(state.config.rootpath),
        args=list(state.config.invocation_params.args),
    )
    numprocesses = getattr(state.config.option, "numprocesses", None)
    workers = getattr(state.config.option, "numprocesses", None) if numprocesses else None
    run.update(
        finished_at=finished.isoformat(timespec="milliseconds"),
        duration_s=round((finished - started).total_seconds(), 3),
        workers=workers if isinstance(workers, int) else None,
        interrupted=state.interrupted or exitstatus == INTERRUPTED,
        exit_status=exitstatus,
        record_mode=state.option("record_mode"),
    )
    tests = state.collector.tests(only_recorded=not state.collect_all)
    ledger = state.ledger_totals()
    totals = compute_totals(tests, cap_usd=ledger.get("cap_usd"), cap_hit=bool(ledger.get("cap_hit")))
    prompts: dict[tuple[str, str, str], dict[str, str]] = {}
    golden_sets: dict[str, dict[str, Any]] = dict(state._golden_sets)
    for test in tests:
        for ref in test.get("prompts") or []:
            prompts[(ref["name"], ref["version"], ref["hash"])] = ref
        golden = test.get("golden")
        if golden and golden.get("path") not in golden_sets and golden.get("set_cases") is not None:
            golden_sets[golden["path"]] = {"path": golden["path"], "hash": golden["hash"],
                                           "cases": golden["set_cases"], "format": golden.get("format")}
    return {
        "schema_version": 1,
        "kind": "pytest-llmops-run",
        "run": run,
        "tests": tests,
        "totals": totals,
        "golden_sets": sorted(golden_sets.values(), key=lambda g: g["path"]),
        "prompts": [prompts[k] for k in sorted(prompts)],
        "aggregates": compute_aggregates(tests),
        "collection_errors": state.collector.collection_errors,
        "unused_recordings": _unused(state, tests, exitstatus),
        "warnings": [],
    }


def _unused(state: "LlmopsSession", tests: list[dict[str, Any]], exitstatus: int) -> list[str]:
    if state._engine is None and not any(t.get("recordings") for t in tests):  # xdist controller: no engine
        return []
    from .unused_recordings import find_unused

    complete = not (state.partial_selection or state.interrupted or exitstatus == INTERRUPTED
                    or state.collector.collection_errors or state.option("record_mode") == "off")
    unused = find_unused(state, tests, complete)
    if unused:
        verb = "pruned" if state.option("prune_recordings") and complete else "unused"
        state._final_lines.append(
            f"{len(unused)} {verb} recording(s) (files, or file#entry); "
            + ("" if verb == "pruned" else "delete them with --llmops-prune-recordings on a complete run")
        )
    return unused


def finish_run(state: "LlmopsSession", session: "pytest.Session", exitstatus: int) -> None:
    if not (state.collect_all or any("markers" in e for e in state.collector.entries.values())):
        return
    record = build_record(state, exitstatus)
    failed_aggregates = [a for a in record["aggregates"] if not a["passed"]]
    state._final_lines = [describe(a) for a in record["aggregates"]] + state._final_lines  # keep build_record's lines
    if failed_aggregates and session.exitstatus == 0:
        session.exitstatus = 1
    if record["totals"]["cost_cap_hit"] and session.exitstatus == 0:
        session.exitstatus = 1
    if state.report_path is not None:
        from .record import RunRecord
        from .report_io import write_json_atomic

        validated = RunRecord.model_validate(record).model_dump(mode="json")
        write_json_atomic(state.report_path, validated)
    state.record = record
    if state.baseline_path is not None or os.environ.get("GITHUB_STEP_SUMMARY"):
        _compare_with_baseline(state, session, record)


def _compare_with_baseline(state: "LlmopsSession", session: "pytest.Session", record: dict[str, Any]) -> None:
    try:
        from .review.glue import compare_at_session_end
    except ImportError:  # the review package is optional at this stage of the run
        return
    try:
        failed = compare_at_session_end(state, record)
    except LlmopsError as exc:
        state._final_lines.append(f"baseline comparison failed: {exc}")
        return
    if failed and session.exitstatus == 0:
        session.exitstatus = 1
