"""Power and effect sizes of the diff's comparisons: minimum detectable effects and confidence intervals.

Every comparison states the smallest worsening it could detect with :data:`POWER` (80%) at the sample sizes it
had (its MDE, one-sided at level α), and the sample size that would bring the MDE down to a practical
threshold.  Normal approximations, the textbook ones:

* two independent pass rates (sampled tests): Cohen's arcsine effect ``h = 2·asin√p₁ − 2·asin√p₂``, detectable
  when ``h ≥ (z₁₋α + z_power)·√(1/n₁ + 1/n₂)``;
* paired pass/fail (McNemar): a drop ``d`` with discordant-pair rate ψ is detectable when
  ``d ≥ (z₁₋α + z_power)·√(ψ/n)``, and never below the exact test's floor (``m`` all-worse discordant pairs
  with ``0.5^m < α``);
* paired scores (Wilcoxon signed-rank): the paired t-test's MDE ``z·sd/√n`` inflated by the test's asymptotic
  relative efficiency 3/π.

Intervals (two-sided 95%): Newcombe's hybrid score interval for the difference of two independent proportions
(method 10) and for two paired proportions (method 10 with the φ correction); Hodges–Lehmann's median of Walsh
averages for paired scores, with the distribution-free interval from the signed-rank distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

POWER = 0.8
_Z95 = 1.959963984540054


def _z(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def z_sum(alpha: float, power: float = POWER) -> float:
    """``z₁₋α + z_power``: the distance, in standard errors, a one-sided test needs for this power."""
    return _z(1 - alpha) + _z(power)


def exact_floor(alpha: float) -> int:
    """Fewest all-one-way discordant pairs (or non-zero signed ranks) that can reach ``p < alpha``."""
    return max(1, math.floor(math.log(alpha) / math.log(0.5)) + 1)


def _drop_for_h(p: float, h: float) -> float:
    angle = math.asin(math.sqrt(min(1.0, max(0.0, p)))) - h / 2
    return p - (math.sin(angle) ** 2 if angle > 0 else 0.0)


def mde_two_rates(p: float, n_base: int, n_head: int, alpha: float) -> float:
    """Smallest drop of a pass rate ``p`` detectable with 80% power, base and head independent samples."""
    if n_base <= 0 or n_head <= 0:
        return math.inf
    return _drop_for_h(p, z_sum(alpha) * math.sqrt(1 / n_base + 1 / n_head))


def n_two_rates(p: float, drop: float, alpha: float) -> int | None:
    """Samples per run (same n in both) needed for a drop of ``drop`` from ``p``; None if no n can."""
    p2 = max(0.0, p - drop)
    h = 2 * math.asin(math.sqrt(min(1.0, p))) - 2 * math.asin(math.sqrt(p2))
    if h <= 0:
        return None
    return max(2, math.ceil(2 * (z_sum(alpha) / h) ** 2))


def mde_paired_rates(discordant: int, n: int, alpha: float) -> float:
    """Smallest drop of a paired pass rate detectable with 80% power (McNemar), given the discordance seen."""
    if n <= 0:
        return math.inf
    z = z_sum(alpha)
    return max(z * math.sqrt(discordant / n / n), z * z / n, exact_floor(alpha) / n)


def n_paired_rates(discordant: int, n: int, drop: float, alpha: float) -> int | None:
    if drop <= 0 or n <= 0:
        return None
    z = z_sum(alpha)
    psi = discordant / n
    return max(math.ceil(z * z * psi / drop**2), math.ceil(z * z / drop), math.ceil(exact_floor(alpha) / drop))


def _sd(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def mde_paired_scores(diffs: Sequence[float], alpha: float) -> float:
    """Smallest mean worsening of a paired score detectable with 80% power (signed-rank, ARE 3/π)."""
    n = len(diffs)
    if n < exact_floor(alpha):
        return math.inf
    return z_sum(alpha) * _sd(diffs) / math.sqrt(n * 3 / math.pi)


def n_paired_scores(diffs: Sequence[float], drop: float, alpha: float) -> int | None:
    if drop <= 0:
        return None
    sd = _sd(diffs)
    return max(exact_floor(alpha), math.ceil((z_sum(alpha) * sd / drop) ** 2 * math.pi / 3))


def wilson(k: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (closed form)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_independent(k_base: int, n_base: int, k_head: int, n_head: int) -> tuple[float, float]:
    """95% interval of ``rate_base − rate_head`` (positive: head dropped), Newcombe's hybrid score method."""
    p1, p2 = k_base / n_base, k_head / n_head
    l1, u1 = wilson(k_base, n_base)
    l2, u2 = wilson(k_head, n_head)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def newcombe_paired(both: int, base_only: int, head_only: int, neither: int) -> tuple[float, float]:
    """95% interval of ``rate_base − rate_head`` for paired pass/fail (Newcombe 1998, method 10).

    ``base_only``: passed only in base (pass → fail); ``head_only``: fail → pass.
    """
    n = both + base_only + head_only + neither
    if n == 0:
        return -1.0, 1.0
    p1, p2 = (both + base_only) / n, (both + head_only) / n
    l1, u1 = wilson(both + base_only, n)
    l2, u2 = wilson(both + head_only, n)
    a, b, c, d = both, base_only, head_only, neither
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denom) if denom > 0 else 0.0
    diff = p1 - p2
    lower = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    upper = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return diff - lower, diff + upper


def hodges_lehmann(diffs: Sequence[float]) -> tuple[float, float, float] | None:
    """Hodges–Lehmann estimate of a paired shift with its ~95% distribution-free interval (Walsh averages)."""
    import numpy as np

    x = np.asarray([d for d in diffs if not math.isnan(d)], dtype=float)
    n = len(x)
    if n == 0:
        return None
    i, j = np.triu_indices(n)
    walsh = np.sort((x[i] + x[j]) / 2)
    m = len(walsh)
    k = int(math.floor(m / 2 - _Z95 * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)))
    k = min(max(k, 0), m - 1)
    return float(np.median(walsh)), float(walsh[k]), float(walsh[m - 1 - k])
