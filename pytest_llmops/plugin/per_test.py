"""Per-test glue: marker checks at collection, the test's recorder, budgets, and its data on the test report."""

from __future__ import annotations

from typing import Any

import pytest

from ..errors import ConfigError
from ..record import recorder as _recorder
from . import calls as _calls
from . import similarity as _similarity
from .markers import OUR_MARKERS, check_marker, json_safe
from .state import RunState

_OUR_MARKS = pytest.StashKey[tuple[frozenset, int]]()


def has_mark(item: pytest.Item, name: str) -> bool:
    """Whether ``item`` carries our marker ``name``: a set lookup for collected items (the marker walk is done
    once, at collection), the walk itself for an item collected some other way or given a marker since
    (``request.applymarker`` in a fixture)."""
    marks, own = item.stash.get(_OUR_MARKS, (None, -1))
    if marks is not None and own == len(item.own_markers):
        return name in marks
    return item.get_closest_marker(name) is not None


def check_items(state: RunState, items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        ours = set()
        for mark in item.iter_markers():
            if mark.name not in OUR_MARKERS:
                continue
            ours.add(mark.name)
            try:
                check_marker(mark.name, mark.args, mark.kwargs)
                if mark.name == "sampling":
                    from .sampling import check_sampling_marker

                    check_sampling_marker(state, item, mark)
            except ConfigError as exc:
                problems.append(f"{item.nodeid}: {exc}")
        item.stash[_OUR_MARKS] = (frozenset(ours), len(item.own_markers))
    if problems:
        raise pytest.UsageError("pytest-llmops: bad marker arguments:\n  " + "\n  ".join(problems))


def begin_test(state: RunState, item: pytest.Item) -> None:
    _recorder.begin_test(item.nodeid)
    state.current_item = item
    _similarity.begin_test(state, item)


def end_test(state: RunState, item: pytest.Item) -> None:
    state.current_item = None
    _calls.end_calls(state)
    _recorder.end_test()
    _similarity.end_test(state)


def recorder_api(state: RunState, request: pytest.FixtureRequest) -> Any:
    from .approvals import RecorderWithApprovals

    rec = _recorder.current_test()
    assert rec is not None
    return RecorderWithApprovals.wrap(rec, state, request)


def check_budget(item: pytest.Item) -> str | None:
    """After the test body: the figures of a blown ``@pytest.mark.budget``, or None."""
    rec = _recorder.peek_current_test()
    if rec is None or not rec.calls or not has_mark(item, "budget"):
        return None
    mark = item.get_closest_marker("budget")
    assert mark is not None
    from ..calls.budget import check_budget as check

    problems = check(rec.calls, **mark.kwargs)
    rec.budget = {"limits": dict(mark.kwargs), "violations": problems}
    if not problems:
        return None
    return "budget exceeded: " + "; ".join(problems)


def attach(state: RunState, item: pytest.Item, report: pytest.TestReport) -> None:
    """Put this test's data on its report as plain builtins (they travel through xdist)."""
    if report.when != "teardown" and not (report.when == "setup" and report.failed):
        return
    if report.when == "teardown":
        _calls.end_calls(state)  # writes the cassette and notes used/recorded/unused entries on the recorder
    rec = _recorder.peek_current_test()
    if rec is None and not state.collect_all:
        return
    data: dict[str, Any] = rec.to_dict() if rec is not None else {}
    if state.option("redact_pii") and data:
        from ..record.redaction import redact_record_text

        data = redact_record_text(data)
    data["markers"] = [
        {"name": m.name, "args": json_safe(list(m.args)), "kwargs": _scrub_kwargs(json_safe(dict(m.kwargs)))}
        for m in item.iter_markers()
        if m.name in OUR_MARKERS or m.name in ("parametrize", "skip", "skipif", "xfail")
    ]
    report.llmops = data  # type: ignore[attr-defined]


def _scrub_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Marker arguments go into the record: hide secret-named ones (``api_key=``) and known secret values."""
    from ..common.secrets import REDACTED, SECRET_ARG, scrub_text

    return {
        key: REDACTED if SECRET_ARG.search(key) else (scrub_text(value) if isinstance(value, str) else value)
        for key, value in kwargs.items()
    }
