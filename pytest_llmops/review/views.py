"""One record's tests as :class:`TestView` objects (metrics, cost, tokens, latencies) and its :class:`RunSide`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ReportError
from . import stats
from .findings import RunSide
from .load import ReviewRecord

PASS = frozenset({"passed", "xpassed"})
FAIL = "failed"
ERROR = "error"


@dataclass
class TestView:
    __test__ = False

    nodeid: str
    outcome: str
    error_kind: str | None
    message: str | None
    function_key: str
    params: str | None
    golden_path: str | None
    case_id: str | None
    metrics: dict[str, float]
    metric_passed: dict[str, bool]  # False when any recorded value of the metric missed its bound
    lower_is_better: set[str]
    cost_usd: float | None
    tokens: int
    latencies: list[float]
    sampling: tuple[int, int] | None  # (passes, valid samples)
    live: bool  # some model call of this test was made live (not replayed): its answers are one sample
    sampling_counts_missing: bool  # a sampled test whose record has no passes/failures counts
    prompts: list[tuple[str, str, str]]
    entry: Any


def _metrics(entry: dict[str, Any]) -> tuple[dict[str, float], dict[str, bool], set[str]]:
    """Mean value per metric name, whether every value met its bound, and the names where lower is better."""
    metrics: dict[str, list[float]] = {}
    metric_passed: dict[str, bool] = {}
    lower: set[str] = set()
    for m in entry.get("metrics") or ():
        name = m["name"]
        if name in metrics:
            metrics[name].append(m["value"])
        else:
            metrics[name] = [m["value"]]
        passed = m.get("passed")
        if passed is not None:
            metric_passed[name] = metric_passed.get(name, True) and bool(passed)
        if m.get("max") is not None and m.get("min") is None:
            lower.add(name)
    means = {name: (v[0] if len(v) == 1 else math.fsum(v) / len(v)) for name, v in metrics.items()}
    return means, metric_passed, lower


def _calls(entry: dict[str, Any]) -> tuple[float | None, int, list[float]]:
    """Spent + replayed cost (None when a price is unknown), total tokens, latencies of calls without retries."""
    cost: float | None = 0.0
    tokens = 0
    latencies: list[float] = []
    for call in entry.get("calls") or ():
        tokens += call.get("total_tokens") or 0
        if call.get("cached"):
            price, latency = call.get("replayed_cost_usd"), call.get("recorded_latency_s")
        else:
            price, latency = call.get("cost_usd"), call.get("latency_s")
        if call.get("error") is None:
            if price is None:
                cost = None
            elif cost is not None:
                cost += price
            # a call that needed retries measured the provider's faults, not the change under review
            if latency is not None and not call.get("retries"):
                latencies.append(latency)
    return cost, tokens, latencies


def _view(entry: dict[str, Any]) -> TestView:
    metrics, metric_passed, lower = _metrics(entry)
    cost, tokens, latencies = _calls(entry)
    sampling = None
    info = entry.get("sampling")
    if info and isinstance(info.get("passes"), int):
        sampling = (info["passes"], info["passes"] + (info.get("failures") or 0))
    missing = bool(info) and sampling is None and entry["outcome"] != ERROR
    golden = entry.get("golden")
    cls = entry.get("cls")
    return TestView(
        nodeid=entry["nodeid"],
        outcome=entry["outcome"],
        error_kind=entry.get("error_kind"),
        message=entry.get("message"),
        function_key=f"{entry['file']}::{cls + '::' if cls else ''}{entry['function']}",
        params=entry.get("params"),
        golden_path=golden["path"] if golden else None,
        case_id=golden["case_id"] if golden else None,
        metrics=metrics,
        metric_passed=metric_passed,
        lower_is_better=lower,
        cost_usd=cost,
        tokens=tokens,
        latencies=latencies,
        sampling=sampling,
        live=any(not call.get("cached") for call in entry.get("calls") or ()),
        sampling_counts_missing=missing,
        prompts=[(p["name"], p["version"], p["hash"]) for p in entry.get("prompts") or ()],
        entry=entry,
    )


def test_views(record: ReviewRecord) -> dict[str, TestView]:
    """One :class:`TestView` per node id; duplicate node ids raise ReportError naming them."""
    views: dict[str, TestView] = {}
    duplicates: set[str] = set()
    label = record.label
    for entry in record.tests:
        nodeid = entry["nodeid"]
        if nodeid in views:
            duplicates.add(nodeid)
            continue
        views[nodeid] = _view(entry)
    if duplicates:
        names = sorted(duplicates)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        raise ReportError(
            f"{label}: duplicate test id(s) in one record: {', '.join(names[:10])}{more}; a record must list each "
            "test once (merge shard records with 'pytest-llmops merge')"
        )
    return views


def run_side(record: ReviewRecord, views: dict[str, TestView]) -> RunSide:
    """The run-level summary of one record: outcomes, pass rate with its Wilson interval, cost, tokens, p95."""
    label, meta = record.label, record.meta
    outcomes: dict[str, int] = {}
    for view in views.values():
        outcomes[view.outcome] = outcomes.get(view.outcome, 0) + 1
    passes = outcomes.get("passed", 0) + outcomes.get("xpassed", 0)
    judged = passes + outcomes.get("failed", 0)
    cost: float | None = 0.0
    latencies: list[float] = []
    tokens = 0
    for view in views.values():
        tokens += view.tokens
        latencies.extend(view.latencies)
        if view.cost_usd is None:
            cost = None
        elif cost is not None:
            cost += view.cost_usd
    git = meta.run.git
    return RunSide(
        label=label,
        commit=git.commit if git else None,
        branch=git.branch if git else None,
        started_at=meta.run.started_at,
        interrupted=bool(meta.run.interrupted),
        record_mode=meta.run.record_mode,
        tests=len(views),
        outcomes=dict(sorted(outcomes.items())),
        passes=passes,
        judged=judged,
        pass_rate=passes / judged if judged else None,
        interval=stats.wilson_interval(passes, judged),
        cost_usd=None if cost is None else round(cost, 8),
        tokens=tokens,
        p95_latency_s=stats.percentile(latencies, 95),
        latency_calls=len(latencies),
    )
