"""The statistics behind the diff's verdicts, each a thin layer over ``scipy.stats``.

Every test here is **one-sided**: the question a reviewer asks is "did head get worse?" (and, mirrored,
"did it get better?").  scipy is imported inside the functions so that importing this module stays cheap.

* Sampled pass rates (k of n in base vs head, independent samples): Boschloo's exact test
  (``scipy.stats.boschloo_exact``), uniformly more powerful than Fisher's exact test and still exact.  For
  large samples (more than :data:`BOSCHLOO_MAX_N` samples in the two runs together) it becomes slow, and
  Fisher's exact test (``fisher_exact``), to which it converges, is used instead.  Results are cached per
  table, so a diff with thousands of sampled tests computes each distinct table once.
* Inside the diff's family, sampled pass rates use Fisher's exact test (:func:`conditional_drop_pvalue`):
  conditional on the total passes, so the smallest p-value it can reach is known before looking and Tarone's
  screen (``family.tarone_level``) is exact.
* Golden set pass/fail, paired per case: McNemar's exact test, i.e. ``binomtest`` on the discordant pairs.
* Golden set metric values, paired per case: Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, zero
  differences dropped), with Holm's step-down correction across the metrics of one golden set.
* Pass-rate interval of a whole run: Wilson score interval (``binomtest(...).proportion_ci("wilson")``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from functools import lru_cache

BOSCHLOO_MAX_N = 200


def _table_pvalue(k_base: int, n_base: int, k_head: int, n_head: int) -> float:
    """One-sided p-value of "base pass rate > head pass rate"."""
    if n_base + n_head <= BOSCHLOO_MAX_N:
        from scipy.stats import boschloo_exact

        # columns are the two samples: p1 = k_base/n_base, p2 = k_head/n_head; H1: p1 > p2
        result = boschloo_exact([[k_base, k_head], [n_base - k_base, n_head - k_head]], alternative="greater")
    else:
        from scipy.stats import fisher_exact

        result = fisher_exact([[k_base, n_base - k_base], [k_head, n_head - k_head]], alternative="greater")
    p = float(result.pvalue)
    return 1.0 if math.isnan(p) else min(1.0, max(0.0, p))


@lru_cache(maxsize=65536)
def rate_drop_pvalue(k_base: int, n_base: int, k_head: int, n_head: int) -> float:
    """p-value that head's pass rate is lower than base's (independent k/n samples); 1.0 without data."""
    if n_base <= 0 or n_head <= 0:
        return 1.0
    if k_head * n_base >= k_base * n_head:  # head's rate is not lower: no evidence of a drop
        return 1.0
    return _table_pvalue(k_base, n_base, k_head, n_head)


def rate_rise_pvalue(k_base: int, n_base: int, k_head: int, n_head: int) -> float:
    """p-value that head's pass rate is higher than base's (the mirror of :func:`rate_drop_pvalue`)."""
    return rate_drop_pvalue(k_head, n_head, k_base, n_base)


@lru_cache(maxsize=65536)
def conditional_drop_pvalue(k_base: int, n_base: int, k_head: int, n_head: int) -> float:
    """Fisher's exact p-value that head's pass rate is lower than base's, conditional on the total passes.

    The diff uses this one inside its family of comparisons: being conditional on the margins, its smallest
    attainable p-value is known before looking (Tarone's screen stays exact), which Boschloo's is not."""
    if n_base <= 0 or n_head <= 0 or k_head * n_base >= k_base * n_head:
        return 1.0
    from scipy.stats import fisher_exact

    p = float(fisher_exact([[k_base, n_base - k_base], [k_head, n_head - k_head]], alternative="greater").pvalue)
    return 1.0 if math.isnan(p) else min(1.0, max(0.0, p))


def conditional_rise_pvalue(k_base: int, n_base: int, k_head: int, n_head: int) -> float:
    return conditional_drop_pvalue(k_head, n_head, k_base, n_base)


def mcnemar_pvalue(worse: int, better: int) -> float:
    """Exact McNemar: ``worse`` cases went pass→fail, ``better`` went fail→pass; p of "head is worse"."""
    if worse <= better:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(worse, worse + better, 0.5, alternative="greater").pvalue)


def signed_rank_pvalue(improvements: Sequence[float]) -> float:
    """Wilcoxon signed-rank p of "head is worse", given per-case differences oriented so > 0 is better.

    Zero differences carry no information and are dropped first; with no non-zero difference p is 1.
    """
    diffs = [float(d) for d in improvements if d != 0 and not math.isnan(d)]
    if not diffs:
        return 1.0
    if sum(1 for d in diffs if d < 0) == 0:
        return 1.0
    from scipy.stats import wilcoxon

    p = float(wilcoxon(diffs, alternative="less").pvalue)
    return 1.0 if math.isnan(p) else p


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input order.

    Sort ascending; the i-th smallest (0-based) is multiplied by (m - i); running maximum keeps the order;
    capped at 1.  Reject H_i when adjusted p_i < alpha.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def wilson_interval(passes: int, total: int, confidence: float = 0.95) -> tuple[float, float] | None:
    if total <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(passes, total).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Same definition as the run totals (``statistics.quantiles``, inclusive): stays in the observed range."""
    data = sorted(float(v) for v in values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    return statistics.quantiles(data, n=100, method="inclusive")[int(q) - 1]


def mean(values: Sequence[float]) -> float | None:
    """Exactly rounded (math.fsum), so the result does not depend on the order of the values."""
    return math.fsum(values) / len(values) if values else None
