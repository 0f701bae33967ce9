"""Agreement statistics of a judge against human labels: Cohen's kappa with a seeded bootstrap interval,
raw agreement, the confusion matrix, Krippendorff's alpha and pairwise kappa between several labellers.

Point estimates come from scikit-learn (:func:`sklearn.metrics.cohen_kappa_score`, ``confusion_matrix``) and
the ``krippendorff`` package; the interval is :func:`scipy.stats.bootstrap` (paired, percentile, seeded).  The
bootstrap's statistic is Cohen's formula evaluated on a batch of resampled confusion matrices at once
(:func:`batched_kappa`) -- the same formula as scikit-learn's, vectorised, because calling scikit-learn 2000
times takes seconds; a test checks the two agree on random tables.  An undefined kappa (both raters constant)
counts as 0.0, as scikit-learn's ``replace_undefined_by=0.0``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

WEIGHTS = (None, "linear", "quadratic")


@dataclass(frozen=True)
class Agreement:
    """Judge vs humans on one criterion.  ``labels`` are the categories of ``confusion`` (rows: humans)."""

    n: int
    kappa: float
    ci_low: float
    ci_high: float
    confidence: float
    weights: str | None
    raw_agreement: float
    labels: list[Any]
    confusion: list[list[int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "kappa": _round(self.kappa),
            "kappa_ci": [_round(self.ci_low), _round(self.ci_high)],
            "confidence": self.confidence,
            "weights": self.weights,
            "raw_agreement": _round(self.raw_agreement),
            "labels": list(self.labels),
            "confusion": self.confusion,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _codes(values: Sequence[Any], labels: Sequence[Any]) -> Any:
    import numpy as np  # noqa: PLC0415

    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] for v in values], dtype=np.int64)


def _weight_matrix(k: int, weights: str | None) -> Any:
    import numpy as np  # noqa: PLC0415

    grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    if weights is None:
        return (grid > 0).astype(float)
    return grid if weights == "linear" else grid**2


def batched_kappa(human: Any, judge: Any, k: int, weights: str | None) -> Any:
    """Cohen's kappa of code arrays ``human``/``judge`` (shape ``(..., n)``, codes ``0..k-1``), batched."""
    import numpy as np  # noqa: PLC0415

    eye = np.eye(k)
    observed = np.einsum("...ni,...nj->...ij", eye[human], eye[judge])
    n = observed.sum(axis=(-2, -1), keepdims=True)
    expected = observed.sum(axis=-1, keepdims=True) * observed.sum(axis=-2, keepdims=True) / n
    w = _weight_matrix(k, weights)
    denominator = (w * expected).sum(axis=(-2, -1))
    numerator = (w * observed).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1.0 - numerator / denominator
    return np.where(denominator > 0, kappa, 0.0)


def sklearn_kappa(human: Sequence[Any], judge: Sequence[Any], labels: Sequence[Any], weights: str | None) -> float:
    """scikit-learn's Cohen's kappa (undefined -> 0.0)."""
    from sklearn.exceptions import UndefinedMetricWarning  # noqa: PLC0415
    from sklearn.metrics import cohen_kappa_score  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        value = cohen_kappa_score(
            _codes(human, labels), _codes(judge, labels), labels=list(range(len(labels))), weights=weights,
            replace_undefined_by=0.0,
        )
    return float(value)


def agreement(
    human: Sequence[Any],
    judge: Sequence[Any],
    labels: Sequence[Any],
    *,
    weights: str | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Agreement:
    """Kappa (with its bootstrap interval), raw agreement and confusion matrix of paired labels."""
    import numpy as np  # noqa: PLC0415
    from scipy.stats import bootstrap  # noqa: PLC0415
    from sklearn.metrics import confusion_matrix  # noqa: PLC0415

    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    if len(human) != len(judge) or not human:
        raise ValueError(f"need paired, non-empty label lists, got {len(human)} and {len(judge)}")
    h, j, k = _codes(human, labels), _codes(judge, labels), len(labels)
    kappa = sklearn_kappa(human, judge, labels, weights)
    confusion = confusion_matrix(h, j, labels=list(range(k))).tolist()
    low = high = kappa
    if len(h) >= 2:
        result = bootstrap(
            (h, j),
            lambda a, b, axis=-1: batched_kappa(a, b, k, weights),
            paired=True, vectorized=True, n_resamples=n_resamples, method="percentile",
            confidence_level=confidence, rng=np.random.default_rng(seed),
        )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Agreement(
        n=len(h), kappa=kappa, ci_low=low, ci_high=high, confidence=confidence, weights=weights,
        raw_agreement=float(np.mean(h == j)), labels=list(labels), confusion=confusion,
    )


def krippendorff_alpha(units: Sequence[dict[str, Any]], labels: Sequence[Any], level: str) -> float | None:
    """Krippendorff's alpha of ``units`` (one ``{rater: label}`` per item; missing ratings allowed), or None
    when fewer than two raters ever rate the same item."""
    import krippendorff  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    raters = sorted({r for unit in units for r in unit})
    if len(raters) < 2 or not any(len(unit) >= 2 for unit in units):
        return None
    index = {label: float(i) for i, label in enumerate(labels)}
    data = np.full((len(raters), len(units)), np.nan)
    for col, unit in enumerate(units):
        for rater, value in unit.items():
            data[raters.index(rater), col] = index[value]
    if len(np.unique(data[~np.isnan(data)])) < 2:
        return 1.0  # every rating the same: perfect agreement (alpha itself is undefined)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=None))


def pairwise_kappa(units: Sequence[dict[str, Any]], labels: Sequence[Any], weights: str | None) -> float | None:
    """Mean Cohen's kappa over every pair of raters, on the items both rated (>= 2 items); None if no pair."""
    raters = sorted({r for unit in units for r in unit})
    values = []
    for first, second in combinations(raters, 2):
        both = [unit for unit in units if first in unit and second in unit]
        if len(both) >= 2:
            values.append(sklearn_kappa([u[first] for u in both], [u[second] for u in both], labels, weights))
    return sum(values) / len(values) if values else None
