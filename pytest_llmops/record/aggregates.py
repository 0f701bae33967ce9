"""Run-level checks over many test items, e.g. "mean recall@5 over the golden set >= 0.8".

Declared with ``@pytest.mark.aggregate("recall@5", min=0.8)`` on a test function: after the run, the metric's
value from every item of that function (one per golden case, prompt version...) is combined with ``stat``
and compared with the bounds.  A miss fails the run (exit status 1) and is listed with its figures.  Per-item
values are kept in the record so the diff can compare releases case by case.
"""

from __future__ import annotations

import statistics
from typing import Any

from .recorder import bound_parts

_STATS = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max}


def item_metric_value(test: dict[str, Any], metric: str) -> float | None:
    values = [m["value"] for m in test.get("metrics") or [] if m.get("name") == metric]
    return statistics.fmean(values) if values else None


def compute_aggregates(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for test in tests:
        for marker in test.get("markers") or []:
            if marker.get("name") != "aggregate" or not marker.get("args"):
                continue
            metric = str(marker["args"][0])
            scope = f"{test['file']}::{test['cls'] + '::' if test.get('cls') else ''}{test['function']}"
            key = (scope, metric, str(marker["kwargs"].get("stat", "mean")))
            group = groups.setdefault(key, {"kwargs": marker["kwargs"], "values": {}, "missing": 0})
            value = item_metric_value(test, metric)
            if value is None or test.get("outcome") in ("skipped", "error", "xfailed"):
                group["missing"] += value is None and test.get("outcome") not in ("skipped", "xfailed")
                continue
            group["values"][test["nodeid"]] = value
    out = []
    for (scope, metric, stat), group in sorted(groups.items()):
        values = group["values"]
        lo, hi = group["kwargs"].get("min"), group["kwargs"].get("max")
        value = _STATS[stat](list(values.values())) if values else None
        passed = None if value is None else (lo is None or value >= lo) and (hi is None or value <= hi)
        out.append({
            "name": f"{stat} {metric} over {scope}",
            "metric": metric,
            "value": value,
            "min": lo,
            "max": hi,
            "passed": passed if values else False,
            "count": len(values),
            "values": values,
            "scope": scope,
        })
    return out


def describe(aggregate: dict[str, Any]) -> str:
    bounds = bound_parts(aggregate.get("min"), aggregate.get("max"))
    value = "n/a (no item recorded it)" if aggregate["value"] is None else f"{aggregate['value']:.4f}"
    status = "ok" if aggregate["passed"] else "FAILED"
    return f"{status}: {aggregate['name']} = {value} (need {' and '.join(bounds)}; {aggregate['count']} items)"
