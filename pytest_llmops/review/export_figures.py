"""The figures of one run that the exports publish (OpenMetrics, MLflow, JUnit properties), computed once.

Run-level figures are the diff's own (:func:`~.views.run_side`: pass rate with its Wilson interval, cost
spent + replayed, tokens, p95 latency); golden sets get their pass rate and the mean of each metric over
their cases (per-test JUnit properties are in :mod:`.export_junit`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import stats
from .load import ReviewRecord
from .views import run_side, test_views


@dataclass
class GoldenFigures:
    path: str
    cases: int
    pass_rate: float | None
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class RunFigures:
    side: Any  # findings.RunSide
    models: list[str]
    spent_usd: float | None
    replayed_usd: float | None
    live_calls: int
    replayed_calls: int
    latency: dict[str, Any]  # model -> LatencyStats (from the record's totals)
    golden: list[GoldenFigures]
    prompts: list[tuple[str, str, str]]
    aggregates: list[Any]
    sampled: dict[str, tuple[int, int, float | None, float | None]]  # nodeid -> passes, n, low, high


def _golden(views: dict[str, Any]) -> list[GoldenFigures]:
    groups: dict[str, dict[str, list[float]]] = {}
    for view in views.values():
        if not view.golden_path:
            continue
        metrics = groups.setdefault(view.golden_path, {"__cases": []})
        metrics["__cases"].append(1.0)
        if view.outcome in ("passed", "xpassed", "failed"):
            metrics.setdefault("__pass", []).append(0.0 if view.outcome == "failed" else 1.0)
        for name, value in view.metrics.items():
            if math.isfinite(value):
                metrics.setdefault(name, []).append(value)
    out = []
    for path, metrics in sorted(groups.items()):
        passes = metrics.pop("__pass", [])
        cases = len(metrics.pop("__cases"))
        out.append(GoldenFigures(path, cases, stats.mean(passes),
                                 {name: float(stats.mean(v) or 0.0) for name, v in sorted(metrics.items())}))
    return out


def run_figures(record: ReviewRecord) -> RunFigures:
    views = test_views(record)
    totals = record.meta.totals
    models = sorted({c.get("model") for v in views.values() for c in v.entry.get("calls") or () if c.get("model")})
    sampled = {}
    for nodeid, view in sorted(views.items()):
        if view.sampling is not None:
            k, n = view.sampling
            given = (view.entry.get("sampling") or {}).get("interval")
            lo, hi = given if isinstance(given, list) and len(given) == 2 else (stats.wilson_interval(k, n) or (None,
                                                                                                            None))
            sampled[nodeid] = (k, n, lo, hi)
    return RunFigures(
        side=run_side(record, views), models=models, spent_usd=totals.cost_usd, replayed_usd=totals.replayed_cost_usd,
        live_calls=totals.live_calls, replayed_calls=totals.replayed_calls, latency=dict(totals.latency),
        golden=_golden(views), prompts=sorted({(p.name, p.version, p.hash) for p in record.meta.prompts}),
        aggregates=list(record.meta.aggregates), sampled=sampled,
    )
