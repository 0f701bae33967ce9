"""Run-level comparison: the totals table, cost/tokens/latency growth, metric means, aggregate checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import power, stats
from .family import Comparison
from .findings import Finding, MetricChange, RunSide, TotalRow, Verdicts
from .format import fmt_int, fmt_num, fmt_pct, fmt_rel, fmt_s, fmt_usd, rel_change
from .load import ReviewRecord
from .options import DiffOptions
from .views import ERROR, FAIL, PASS, TestView


def _rate(side: RunSide) -> str:
    if side.pass_rate is None:
        return "n/a"
    lo, hi = side.interval or (0.0, 0.0)
    return f"{fmt_pct(side.pass_rate)} [{fmt_pct(lo)}, {fmt_pct(hi)}] ({side.passes}/{side.judged})"


def _pp(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{(b - a) * 100:+.1f} pp"


def _count(a: int, b: int) -> str:
    return f"{b - a:+d}"


def totals(base: RunSide, head: RunSide) -> list[TotalRow]:
    """The totals table: tests, pass rate, failed, errors, cost, tokens, p95 latency."""
    failed = base.outcomes.get("failed", 0), head.outcomes.get("failed", 0)
    errors = base.outcomes.get("error", 0), head.outcomes.get("error", 0)
    return [
        TotalRow("tests", str(base.tests), str(head.tests), _count(base.tests, head.tests)),
        TotalRow("pass rate (95% Wilson)", _rate(base), _rate(head), _pp(base.pass_rate, head.pass_rate)),
        TotalRow("failed", str(failed[0]), str(failed[1]), _count(*failed)),
        TotalRow("errors", str(errors[0]), str(errors[1]), _count(*errors)),
        TotalRow("cost (spent + replayed)", fmt_usd(base.cost_usd), fmt_usd(head.cost_usd),
                 fmt_rel(base.cost_usd, head.cost_usd)),
        TotalRow("tokens", f"{base.tokens:,}", f"{head.tokens:,}", fmt_rel(base.tokens, head.tokens)),
        TotalRow("p95 latency", fmt_s(base.p95_latency_s), fmt_s(head.p95_latency_s),
                 fmt_rel(base.p95_latency_s, head.p95_latency_s)),
    ]


def run_passrate(base_views: dict[str, TestView], head_views: dict[str, TestView],
                 options: DiffOptions) -> Comparison | None:
    """The pass rate of the single live tests (one sample each, neither sampled nor golden) over the matched
    tests judged in both runs, paired per test (exact McNemar): many unconfirmed flips together can be a
    regression that no single one of them shows.  Deterministic tests, golden cases and sampled tests are
    judged on their own and are not counted twice."""
    both = worse = better = neither = 0
    for nodeid in base_views.keys() & head_views.keys():
        bv, hv = base_views[nodeid], head_views[nodeid]
        if not (bv.live or hv.live) or bv.case_id is not None or bv.sampling is not None or hv.sampling is not None:
            continue
        b, h = bv.outcome, hv.outcome
        if (b in PASS or b == FAIL) and (h in PASS or h == FAIL):
            both += b in PASS and h in PASS
            worse += b in PASS and h == FAIL
            better += b == FAIL and h in PASS
            neither += b == FAIL and h == FAIL
    n = both + worse + better + neither
    if n == 0:
        return None
    mde = power.mde_paired_rates(worse + better, n, options.alpha)
    return Comparison(
        kind="run-passrate", better_kind="run-passrate-better", subject=f"{n} single live tests",
        base=f"{both + worse}/{n} pass", head=f"{both + better}/{n} pass", test="exact McNemar",
        p_worse=stats.mcnemar_pvalue(worse, better), p_better=stats.mcnemar_pvalue(better, worse),
        effect=(worse - better) / n, unit="pp", interval=power.newcombe_paired(both, worse, better, neither),
        mde=mde, practical=options.min_effect, n_text="tests", noise_kind="run-noise", list_noise=False,
        min_p=0.5 ** (worse + better),
        needs_n=power.n_paired_rates(worse + better, n, options.min_effect, options.alpha)
        if mde > options.min_effect else None, note=f"{worse} test(s) pass → fail, {better} fail → pass")


def run_growth(base: RunSide, head: RunSide, options: DiffOptions) -> Verdicts:
    """Whole-run cost, tokens and p95 latency of a deterministic pair (every call replayed): up more than the
    threshold is a regression, down is an improvement.  With live calls :mod:`.growth` tests the rise instead."""
    verdicts = Verdicts()
    checks: tuple[tuple[str, float | None, float | None, float, Callable[[float], str]], ...] = (
        ("cost", base.cost_usd, head.cost_usd, options.cost_pct, fmt_usd),
        ("tokens", float(base.tokens), float(head.tokens), options.tokens_pct, fmt_int),
        ("latency", base.p95_latency_s, head.p95_latency_s, options.latency_pct, fmt_s),
    )
    for kind, b, h, limit, fmt in checks:
        change = rel_change(b, h)
        if kind == "latency" and b is not None and h is not None and abs(h - b) < options.min_latency_delta_s:
            continue
        if change is None or not b:
            continue
        if change * 100 > limit:
            verdicts.regressions.append(Finding(kind, "whole run", fmt(b), fmt(h),
                                                f"{change * 100:+.1f}% (limit +{limit:g}%)",
                                                magnitude=change + 1e6))  # the run total ranks above single tests
        elif -change * 100 > limit:
            verdicts.improvements.append(Finding(f"{kind}-down", "whole run", fmt(b), fmt(h),
                                                 f"{change * 100:+.1f}%", magnitude=-change))
    return verdicts


@dataclass
class MetricMeans:
    """Metric means over the matched tests, with the metric-drop regressions and warnings they caused."""

    changes: list[MetricChange] = field(default_factory=list)
    regressions: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _metric_sums(base_views: dict[str, TestView],
                 head_views: dict[str, TestView]) -> tuple[dict[str, list[float]], set[str]]:
    """name -> [n, base_sum, head_sum] over the matched tests without errors; names where lower is better."""
    sums: dict[str, list[float]] = {}
    lower: set[str] = set()
    for nodeid in sorted(base_views.keys() & head_views.keys()):  # sorted: float sums must not depend on set order
        b, h = base_views[nodeid], head_views[nodeid]
        if b.outcome == ERROR or h.outcome == ERROR or not b.metrics or not h.metrics:
            continue
        for name, hv in h.metrics.items():
            bv = b.metrics.get(name)
            if bv is None:
                continue
            acc = sums.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += bv
            acc[2] += hv
            lower |= b.lower_is_better | h.lower_is_better
    return sums, lower


def metric_changes(base_views: dict[str, TestView], head_views: dict[str, TestView],
                   options: DiffOptions) -> MetricMeans:
    """Mean of every metric over the matched tests; worse by more than its ``--fail-on`` tolerance: metric-drop."""
    sums, lower = _metric_sums(base_views, head_views)
    out = MetricMeans()
    for name in sorted(sums):
        n, bsum, hsum = sums[name]
        bm, hm = bsum / n, hsum / n
        higher = name not in lower
        worse_by = (bm - hm) if higher else (hm - bm)
        tol = options.metric_tolerances.get(name)
        breached = False
        tol_text = None
        if tol is not None:
            amount, relative = tol
            limit = amount / 100 * abs(bm) if relative else amount
            breached = worse_by > limit + 1e-12
            tol_text = f"{amount:g}%" if relative else f"{amount:g}"
            if breached:
                rel = f" ({worse_by / abs(bm) * 100:.1f}%)" if bm else ""
                out.regressions.append(Finding(
                    "metric-drop", f"{name} over {int(n)} matched tests", fmt_num(bm), fmt_num(hm),
                    f"mean worse by {worse_by:.4g}{rel}, tolerance {tol_text}", magnitude=worse_by, metric=name))
        out.changes.append(MetricChange(name, int(n), bm, hm, higher, tol_text, breached))
    for name in sorted(set(options.metric_tolerances) - set(sums)):
        out.warnings.append(f"fail-on metric {name!r}: no matched test recorded it in both runs")
    return out


def aggregate_regressions(base_record: ReviewRecord, head_record: ReviewRecord) -> list[Finding]:
    """Run-level aggregate checks that passed in base and fail in head."""
    found = []
    base = {a.name: a for a in base_record.meta.aggregates}
    for agg in sorted(head_record.meta.aggregates, key=lambda a: a.name):
        old = base.get(agg.name)
        if old is not None and old.passed and agg.passed is False:
            found.append(Finding("aggregate", agg.name, fmt_num(old.value), fmt_num(agg.value),
                                 f"bounds min={agg.min} max={agg.max}, {agg.count} items",
                                 magnitude=abs((old.value or 0) - (agg.value or 0))))
    return found
