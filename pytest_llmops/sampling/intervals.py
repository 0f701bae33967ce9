"""Two-sided Wilson / Clopper-Pearson intervals of a sampled test's pass rate (scipy, imported on use)."""

from __future__ import annotations

_SCIPY_CI_METHOD = {"wilson": "wilson", "clopper-pearson": "exact"}


def proportion_interval(passes: int, valid: int, confidence: float, interval: str) -> tuple[float, float] | None:
    """Two-sided interval from ``scipy.stats.binomtest(...).proportion_ci``; ``None`` without valid samples."""
    if valid <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(passes, valid).proportion_ci(confidence_level=confidence, method=_SCIPY_CI_METHOD[interval])
    return float(ci.low), float(ci.high)
