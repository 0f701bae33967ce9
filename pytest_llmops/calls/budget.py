"""Per-test budgets: cost, tokens and p95 latency over the calls a test made.

Replayed runs enforce the same budget as live runs: the cost counted is spent + replayed cost, and the latency
of a replayed call is its *recorded* latency (``recorded_latency_s``), not the sub-millisecond replay time.

p95 latency uses ``statistics.quantiles(latencies, n=100, method="inclusive")[94]``: linear interpolation
between closest ranks over the observed range (the same as numpy's default ``percentile(..., 95)``); with a
single call it is that call's latency.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import ConfigError

BUDGET_KEYS = ("usd", "tokens", "p95_latency_s")


def validate_budget_kwargs(kwargs: Mapping[str, Any], *, where: str = "@pytest.mark.budget") -> dict[str, float]:
    """Check budget arguments; ConfigError on unknown keys, non-numbers or negatives.  Returns the clean dict."""
    unknown = sorted(set(kwargs) - set(BUDGET_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown budget key(s) {', '.join(unknown)}; allowed: {', '.join(BUDGET_KEYS)}")
    clean: dict[str, float] = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {name}= must be a number, got {type(value).__name__} {value!r}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite or value < 0:
            raise ConfigError(f"{where}: {name}= must be a finite number >= 0, got {value!r:.60}")
        if name == "tokens" and float(value) != int(value):
            raise ConfigError(f"{where}: tokens= must be a whole number, got {value!r}")
        clean[name] = int(value) if name == "tokens" else float(value)
    return clean


def p95(values: Iterable[float]) -> float | None:
    data = [float(v) for v in values]
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    return statistics.quantiles(data, n=100, method="inclusive")[94]


def _effective_latency(call: Mapping[str, Any]) -> float | None:
    recorded = call.get("recorded_latency_s")
    if call.get("cached") and recorded is not None:
        return float(recorded)
    latency = call.get("latency_s")
    return None if latency is None else float(latency)


def summarize_calls(calls: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over metered calls: usd (spent + replayed), spent_usd, tokens, p95_latency_s, unpriced models."""
    calls = list(calls)
    spent = replayed = 0.0
    unpriced: list[str] = []
    tokens = 0
    latencies = []
    for call in calls:
        if call.get("error") is None:
            cost = call.get("replayed_cost_usd") if call.get("cached") else call.get("cost_usd")
            if cost is None:
                unpriced.append(str(call.get("model")))
            elif call.get("cached"):
                replayed += float(cost)
            else:
                spent += float(cost)
        elif call.get("cost_usd"):
            spent += float(call["cost_usd"])
        tokens += int(call.get("total_tokens") or 0)
        latency = _effective_latency(call)
        if latency is not None and call.get("error") is None:
            latencies.append(latency)
    return {
        "calls": len(calls),
        "usd": spent + replayed,
        "spent_usd": spent,
        "replayed_usd": replayed,
        "tokens": tokens,
        "p95_latency_s": p95(latencies),
        "unpriced_models": sorted(set(unpriced)),
    }


def check_budget(
    calls: list[dict[str, Any]],
    *,
    usd: float | None = None,
    tokens: int | None = None,
    p95_latency_s: float | None = None,
) -> list[str]:
    """Budget violations, each a sentence with the measured figure and the limit; ``[]`` when within budget."""
    totals = summarize_calls(calls)
    violations = []
    if usd is not None:
        if totals["unpriced_models"]:
            violations.append(
                f"cost budget usd<={usd:g} cannot be checked: no price for model(s) "
                f"{', '.join(totals['unpriced_models'])} (set llmops_prices)"
            )
        if totals["usd"] > usd:
            violations.append(
                f"cost ${totals['usd']:.6f} over {totals['calls']} call(s) exceeds budget usd<={usd:g}"
                f" (spent ${totals['spent_usd']:.6f}, replayed ${totals['replayed_usd']:.6f})"
            )
    if tokens is not None and totals["tokens"] > tokens:
        violations.append(f"{totals['tokens']} tokens over {totals['calls']} call(s) exceed budget tokens<={tokens}")
    if p95_latency_s is not None and totals["p95_latency_s"] is not None and totals["p95_latency_s"] > p95_latency_s:
        violations.append(
            f"p95 latency {totals['p95_latency_s']:.3f}s over {totals['calls']} call(s) exceeds budget "
            f"p95_latency_s<={p95_latency_s:g}"
        )
    return violations
