"""The statistics behind the diff: Holm, the exact tests, and a seeded simulation of the sampled-rate test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, binomtest, boschloo_exact, fisher_exact

from pytest_llmops.review import stats

ALPHA = 0.05


def test_holm_step_down_matches_the_definition() -> None:
    # sorted p: 0.01, 0.02, 0.03, 0.04 -> 4*0.01, 3*0.02, 2*0.03, 1*0.04 with a running maximum
    assert stats.holm([0.04, 0.01, 0.03, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    # capped at 1; the order of the input is kept
    assert stats.holm([0.9, 0.5]) == pytest.approx([1.0, 1.0])
    assert stats.holm([0.001, 0.2, 0.3]) == pytest.approx([0.003, 0.4, 0.4])
    assert stats.holm([]) == []


def test_holm_is_not_benjamini_hochberg() -> None:
    from scipy.stats import false_discovery_control

    p = [0.01, 0.02, 0.03, 0.04]
    assert stats.holm(p) != pytest.approx(list(false_discovery_control(p, method="bh")))


def test_rate_drop_uses_boschloo_for_small_and_fisher_for_large_samples() -> None:
    expected = boschloo_exact([[19, 12], [1, 8]], alternative="greater").pvalue
    assert stats.rate_drop_pvalue(19, 20, 12, 20) == pytest.approx(expected)
    assert stats.rate_drop_pvalue(19, 20, 12, 20) < fisher_exact([[19, 1], [12, 8]], alternative="greater").pvalue
    big = fisher_exact([[180, 20], [160, 40]], alternative="greater").pvalue
    assert stats.rate_drop_pvalue(180, 200, 160, 200) == pytest.approx(big)
    # no drop, no evidence; and the mirror test
    assert stats.rate_drop_pvalue(10, 20, 15, 20) == 1.0
    assert stats.rate_rise_pvalue(12, 20, 19, 20) == pytest.approx(expected)
    assert stats.rate_drop_pvalue(0, 0, 3, 10) == 1.0


def test_mcnemar_and_signed_rank() -> None:
    assert stats.mcnemar_pvalue(6, 0) == pytest.approx(0.5**6)
    assert stats.mcnemar_pvalue(7, 2) == pytest.approx(binomtest(7, 9, 0.5, alternative="greater").pvalue)
    assert stats.mcnemar_pvalue(2, 7) == 1.0
    assert stats.signed_rank_pvalue([0.0, 0.0]) == 1.0
    assert stats.signed_rank_pvalue([0.1, 0.2, 0.3]) == 1.0  # all better
    assert stats.signed_rank_pvalue([-0.1, -0.2, -0.3, -0.4, -0.5, -0.6, 0.0]) == pytest.approx(1 / 64)


def test_wilson_and_percentile() -> None:
    lo, hi = stats.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert stats.wilson_interval(0, 0) is None
    assert stats.percentile([1.0], 95) == 1.0
    assert stats.percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)
    assert stats.percentile([], 95) is None


def _flag_rate(p_base: float, p_head: float, n: int, pairs: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    kb, kh = rng.binomial(n, p_base, pairs), rng.binomial(n, p_head, pairs)
    return float(np.mean([stats.rate_drop_pvalue(int(b), n, int(h), n) < ALPHA for b, h in zip(kb, kh, strict=True)]))


def _exact_rate(p_base: float, p_head: float, n: int) -> float:
    """Exact rejection probability: sum over every (k_base, k_head) with non-negligible probability."""
    pb, ph = binom.pmf(range(n + 1), n, p_base), binom.pmf(range(n + 1), n, p_head)
    total = 0.0
    for kb in range(n + 1):
        for kh in range(kb):
            weight = pb[kb] * ph[kh]
            if weight > 1e-5 and stats.rate_drop_pvalue(kb, n, kh, n) < ALPHA:
                total += weight
    return total


def test_simulation_false_alarms_and_power() -> None:
    false_alarms = _flag_rate(0.8, 0.8, 20, 500, seed=20240601)
    power = _flag_rate(0.9, 0.6, 20, 500, seed=20240602)
    exact_power = _exact_rate(0.9, 0.6, 20)
    print(f"\nno change (p=0.8, n=20, 500 pairs): flagged {false_alarms:.3f} (alpha {ALPHA})")
    print(f"drop 0.9 -> 0.6 (n=20, 500 pairs): flagged {power:.3f}; exact power {exact_power:.3f}")
    # size: at most alpha, with Monte-Carlo slack (sd of a rate near 0.05 over 500 pairs is about 0.01)
    assert false_alarms <= ALPHA + 0.025
    # power: exactly 0.707 for Boschloo at alpha 0.05 (Fisher's exact test would give 0.62)
    assert exact_power > 0.70
    assert power > 0.65  # the simulated rate, within ~2.5 MC standard errors of the exact value
