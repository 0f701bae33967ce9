"""End of session on the controller: build the run record, check aggregates, write files, compare."""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any

import pytest

from .. import __version__
from ..errors import LlmopsError
from ..record.aggregates import compute_aggregates, describe
from ..record.collector import compute_totals
from .calls import ledger_totals
from .judge_audit import record_fields as judge_record_fields
from .state import RunState

INTERRUPTED = 2


def build_record(state: RunState, exitstatus: int) -> dict[str, Any]:
    from ..record.run_info import run_info

    finished = _dt.datetime.now(_dt.timezone.utc)
    started = _dt.datetime.fromisoformat(state.started_at)
    run = run_info(
        plugin_version=__version__,
        pytest_version=pytest.__version__,
        started_at=state.started_at,
        rootdir=state.rootpath,
        args=list(state.config.invocation_params.args),
    )
    workers = getattr(state.config.option, "numprocesses", None) or None
    run.update(
        finished_at=finished.isoformat(timespec="milliseconds"),
        duration_s=round((finished - started).total_seconds(), 3),
        workers=workers if isinstance(workers, int) else None,
        interrupted=state.interrupted or exitstatus == INTERRUPTED,
        exit_status=exitstatus,
        record_mode=state.option("record_mode"),
    )
    tests = state.collector.tests(only_recorded=not state.collect_all)
    ledger = ledger_totals(state)
    totals = compute_totals(tests, cap_usd=ledger.get("cap_usd"), cap_hit=bool(ledger.get("cap_hit")))
    prompts: dict[tuple[str, str, str], dict[str, str]] = {}
    golden_sets: dict[str, dict[str, Any]] = dict(state.golden_sets)
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
        **judge_record_fields(state, tests),  # issue 16: judge audits, corrected pass rates, re-judge
    }


def _unused(state: RunState, tests: list[dict[str, Any]], exitstatus: int) -> list[str]:
    if state.engine is None and not any(t.get("recordings") for t in tests):  # xdist controller: no engine
        return []
    from .recordings import find_unused

    complete = not (state.partial_selection or state.interrupted or exitstatus == INTERRUPTED
                    or state.collector.collection_errors or state.option("record_mode") == "off")
    unused = find_unused(state, tests, complete)
    if unused:
        verb = "pruned" if state.option("prune_recordings") and complete else "unused"
        state.final_lines.append(
            f"{len(unused)} {verb} recording(s) (files, or file#entry); "
            + ("" if verb == "pruned" else "delete them with --llmops-prune-recordings on a complete run")
        )
    return unused


def finish_run(state: RunState, session: pytest.Session, exitstatus: int) -> None:
    """Build and write the run record (the controller calls this only when ``state.has_record()``)."""
    record = build_record(state, exitstatus)
    failed_aggregates = [a for a in record["aggregates"] if not a["passed"]]
    state.final_lines = [describe(a) for a in record["aggregates"]] + state.final_lines  # keep build_record's lines
    if failed_aggregates and session.exitstatus == 0:
        session.exitstatus = 1
    if record["totals"]["cost_cap_hit"] and session.exitstatus == 0:
        session.exitstatus = 1
    if state.report_path is not None:
        from ..record.io import write_json_atomic
        from ..record.models import RunRecord

        validated = RunRecord.model_validate(record).model_dump(mode="json")
        write_json_atomic(state.report_path, validated)
    state.record = record
    if state.baseline_path is not None or os.environ.get("GITHUB_STEP_SUMMARY"):
        _compare_with_baseline(state, session, record)


def _compare_with_baseline(state: RunState, session: pytest.Session, record: dict[str, Any]) -> None:
    from .review import compare_at_session_end

    try:
        failed = compare_at_session_end(state, record)
    except LlmopsError as exc:
        state.final_lines.append(f"baseline comparison failed: {exc}")
        return
    if failed and session.exitstatus == 0:
        session.exitstatus = 1
