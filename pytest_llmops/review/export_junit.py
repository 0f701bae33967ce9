"""Per-test JUnit ``<properties>``: what the plugin adds to pytest's ``--junitxml`` for every llmops test.

Names (stable; documented in ``docs/exports.md``), all prefixed ``llmops.``: ``metric.<name>`` (mean of the
test's values of that metric), ``calls``, ``replayed_calls``, ``tokens``, ``cost_usd`` (spent + replayed;
``unknown`` when a price is missing), ``latency_s`` (sum) and ``latency_p95_s``, ``sampling.passes``,
``sampling.samples``, ``sampling.pass_rate``, ``sampling.interval_low`` / ``interval_high``,
``prompt.<name>.version`` and ``prompt.<name>.hash``, ``golden.path`` and ``golden.case``.
Pure and light: the plugin calls it on each test's data when ``--junitxml`` is given.
"""

from __future__ import annotations

import math
from typing import Any

from . import stats


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def test_properties(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for one test's JUnit ``<properties>``, names prefixed ``llmops.``.

    Metrics (mean per name), cost (spent + replayed), tokens, calls, p95 / total latency, sampled pass rate
    with its interval, prompt versions and hashes, golden set and case.
    """
    props: list[tuple[str, str]] = []
    metrics: dict[str, list[float]] = {}
    for m in entry.get("metrics") or ():
        metrics.setdefault(m["name"], []).append(float(m["value"]))
    for name, values in metrics.items():
        props.append((f"llmops.metric.{name}", f"{_mean(values):.6g}"))
    calls = entry.get("calls") or ()
    if calls:
        cost: float | None = 0.0
        latencies = []
        for c in calls:
            price = c.get("replayed_cost_usd") if c.get("cached") else c.get("cost_usd")
            cost = None if price is None or cost is None else cost + price
            latency = c.get("recorded_latency_s") if c.get("cached") else c.get("latency_s")
            if latency is not None:
                latencies.append(float(latency))
        props.append(("llmops.calls", str(len(calls))))
        props.append(("llmops.replayed_calls", str(sum(1 for c in calls if c.get("cached")))))
        props.append(("llmops.tokens", str(sum(c.get("total_tokens") or 0 for c in calls))))
        props.append(("llmops.cost_usd", "unknown" if cost is None else f"{cost:.8g}"))
        if latencies:
            props.append(("llmops.latency_s", f"{math.fsum(latencies):.6g}"))
            props.append(("llmops.latency_p95_s", f"{stats.percentile(latencies, 95):.6g}"))
    sampling = entry.get("sampling") or {}
    if isinstance(sampling.get("passes"), int):
        k, n = sampling["passes"], sampling["passes"] + (sampling.get("failures") or 0)
        props.append(("llmops.sampling.passes", str(k)))
        props.append(("llmops.sampling.samples", str(n)))
        if n:
            props.append(("llmops.sampling.pass_rate", f"{k / n:.6g}"))
        interval = sampling.get("interval")
        if isinstance(interval, list) and len(interval) == 2:
            props.append(("llmops.sampling.interval_low", f"{interval[0]:.6g}"))
            props.append(("llmops.sampling.interval_high", f"{interval[1]:.6g}"))
    for p in entry.get("prompts") or ():
        props.append((f"llmops.prompt.{p['name']}.version", str(p["version"])))
        props.append((f"llmops.prompt.{p['name']}.hash", str(p["hash"])))
    golden = entry.get("golden")
    if golden:
        props.append(("llmops.golden.path", str(golden["path"])))
        props.append(("llmops.golden.case", str(golden["case_id"])))
    return props
