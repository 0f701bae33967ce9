"""Cost, token and latency rises judged with a test that fits, where some answers were sampled live.

One live answer that happened to be three times longer is noise.  Where calls were live, a rise counts only
when it is larger than its percentage threshold *and* significant within the diff's family:

* a golden group: per-case tokens / cost paired base ↔ head, one-sided Wilcoxon signed-rank;
* the whole run: per-test tokens / cost over the matched tests, paired the same way; p95 latency: one-sided
  Mann–Whitney U over the call latencies of the two runs.

Runs whose calls were all replayed (or made none) are deterministic: :mod:`.compare_run` and
:mod:`.compare_tests` apply the thresholds alone, as there is no sampling noise to test against.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import stats
from .family import Comparison
from .findings import RunSide
from .format import fmt_int, fmt_s, fmt_usd
from .options import DiffOptions
from .views import ERROR, TestView


def _paired(kind: str, subject: str, pairs: list[tuple[float, float]], limit: float,
            fmt: Callable[[float], str]) -> Comparison | None:
    base_sum, head_sum = math.fsum(b for b, _ in pairs), math.fsum(h for _, h in pairs)
    if not pairs or base_sum <= 0:
        return None
    rise = (head_sum - base_sum) / base_sum
    return Comparison(
        kind=kind, better_kind=f"{kind}-down", subject=subject, base=fmt(base_sum), head=fmt(head_sum),
        test=f"Wilcoxon signed-rank over {len(pairs)} paired {'cases' if 'over' in subject else 'tests'}",
        p_worse=stats.signed_rank_pvalue([b - h for b, h in pairs]),
        p_better=stats.signed_rank_pvalue([h - b for b, h in pairs]), effect=rise, unit="%",
        counts_worse=rise * 100 > limit, counts_better=-rise * 100 > limit, noise_kind="growth-noise",
        min_p=0.5 ** sum(1 for b, h in pairs if b != h),
        note=f"limit ±{limit:g}%", worse_word="rise", better_word="drop")


def _pairs(views: list[tuple[TestView, TestView]], kind: str) -> list[tuple[float, float]]:
    out = []
    for b, h in views:
        if ERROR in (b.outcome, h.outcome):
            continue
        if kind == "tokens" and b.tokens and h.tokens:
            out.append((float(b.tokens), float(h.tokens)))
        elif kind == "cost" and b.cost_usd and h.cost_usd is not None:
            out.append((b.cost_usd, h.cost_usd))
    return out


def _growth(subject: str, pairs: list[tuple[TestView, TestView]], options: DiffOptions) -> list[Comparison]:
    found = []
    for kind, limit, fmt in (("cost", options.cost_pct, fmt_usd), ("tokens", options.tokens_pct, fmt_int)):
        c = _paired(kind, subject, _pairs(pairs, kind), limit, fmt)
        if c is not None:
            found.append(c)
    return found


def group_growth(key: str, bg: dict[str, TestView], hg: dict[str, TestView],
                 options: DiffOptions) -> list[Comparison]:
    """Token and cost comparisons of a golden group with live calls (none when every call was replayed)."""
    pairs = [(bg[c], hg[c]) for c in sorted(bg.keys() & hg.keys())]
    if not any(b.live or h.live for b, h in pairs):
        return []
    return _growth(key, pairs, options)


def run_growth_comparisons(base_views: dict[str, TestView], head_views: dict[str, TestView], base: RunSide,
                           head: RunSide, options: DiffOptions) -> list[Comparison]:
    """Whole-run cost, tokens and p95 latency, tested (the run had live calls)."""
    pairs = [(base_views[n], head_views[n]) for n in sorted(base_views.keys() & head_views.keys())]
    found = _growth("whole run", pairs, options)
    latency = _latency(base_views, head_views, base, head, options)
    return [*found, *([latency] if latency else [])]


def _latency(base_views: dict[str, TestView], head_views: dict[str, TestView], base: RunSide, head: RunSide,
             options: DiffOptions) -> Comparison | None:
    b_lat = [x for v in base_views.values() for x in v.latencies]
    h_lat = [x for v in head_views.values() for x in v.latencies]
    if len(b_lat) < 2 or len(h_lat) < 2 or not base.p95_latency_s or head.p95_latency_s is None:
        return None
    from scipy.stats import mannwhitneyu

    p_worse = float(mannwhitneyu(h_lat, b_lat, alternative="greater").pvalue)
    p_better = float(mannwhitneyu(h_lat, b_lat, alternative="less").pvalue)
    rise = (head.p95_latency_s - base.p95_latency_s) / base.p95_latency_s
    big = abs(head.p95_latency_s - base.p95_latency_s) >= options.min_latency_delta_s
    return Comparison(
        kind="latency", better_kind="latency-down", subject="whole run", base=fmt_s(base.p95_latency_s),
        head=fmt_s(head.p95_latency_s), test=f"Mann–Whitney U over {len(b_lat)} + {len(h_lat)} calls",
        p_worse=1.0 if math.isnan(p_worse) else p_worse, p_better=1.0 if math.isnan(p_better) else p_better,
        effect=rise, unit="%", counts_worse=big and rise * 100 > options.latency_pct,
        counts_better=big and -rise * 100 > options.latency_pct, noise_kind="growth-noise",
        note=f"p95; limit ±{options.latency_pct:g}%", worse_word="rise", better_word="drop")
