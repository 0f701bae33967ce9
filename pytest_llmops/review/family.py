"""All statistical comparisons of one diff as one family: multiplicity correction, power, verdicts.

Each :class:`Comparison` carries two one-sided p-values ("head is worse", "head is better"), its effect with
an interval, and its minimum detectable effect (MDE, :mod:`.power`).  :func:`decide` adjusts the p-values of
the whole family per direction — Benjamini–Hochberg false discovery rate by default
(``scipy.stats.false_discovery_control``), Benjamini–Yekutieli under arbitrary dependence, Holm's family-wise
error on request, or none — and turns each comparison into at most one regression, improvement or noise
finding, plus an "inconclusive" entry when its MDE is above the practical threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import stats
from .findings import Finding, Verdicts

CORRECTIONS = ("fdr", "by", "holm", "none")
CORRECTION_TEXT = {
    "fdr": "false discovery rate (Benjamini–Hochberg)",
    "by": "false discovery rate under any dependence (Benjamini–Yekutieli)",
    "holm": "family-wise error rate (Holm)",
    "none": "nothing (each comparison at α on its own)",
}


@dataclass
class Comparison:
    """One hypothesis test of the diff (a sampled test, a golden group's pass/fail or metric, a run total)."""

    kind: str  # the regression kind; improvements use better_kind
    better_kind: str
    subject: str
    base: str
    head: str
    test: str  # e.g. "one-sided Fisher exact"
    p_worse: float
    p_better: float
    effect: float  # observed worsening in ``unit`` (negative: better)
    unit: str = ""
    interval: tuple[float, float] | None = None  # 95% interval of the worsening
    mde: float | None = None
    practical: float | None = None
    needs_n: int | None = None
    n_text: str = ""  # what n counts: "samples per run", "cases"
    metric: str | None = None
    counts_worse: bool = True  # e.g. a token rise below the percentage threshold never counts
    counts_better: bool = True
    note: str = ""
    noise_kind: str = "rate-noise"
    list_noise: bool = True  # list a worse-but-not-significant result under noise
    worse_word: str = "drop"  # how the worsening reads ("drop" of a pass rate, "rise" of tokens)
    better_word: str = "rise"
    min_p: float = 0.0  # smallest p-value the test could reach with these data (discrete tests)
    evidence: list[str] = field(default_factory=list)
    p_worse_adj: float = 1.0
    p_better_adj: float = 1.0

    @property
    def inconclusive(self) -> bool:
        return self.mde is not None and self.practical is not None and self.mde > self.practical


@dataclass
class FamilyVerdicts(Verdicts):
    inconclusive: list[Finding] = field(default_factory=list)


def adjust(pvalues: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values of one family (input order); reject where adjusted p < α."""
    if not pvalues or method == "none":
        return [float(p) for p in pvalues]
    if method == "holm":
        return stats.holm(pvalues)
    from scipy.stats import false_discovery_control

    method_name = "bh" if method == "fdr" else "by"
    return [float(p) for p in false_discovery_control(list(pvalues), method=method_name)]


def _fmt(x: float, unit: str) -> str:
    if unit == "pp":
        return f"{x * 100 + 0.0:+.1f} pp"
    if unit == "%":
        return f"{x * 100 + 0.0:+.1f}%"
    return f"{x + 0.0:+.4g}"


def effect_text(c: Comparison, sign: float = 1.0) -> str:
    text = f"{c.worse_word if sign > 0 else c.better_word} {_fmt(sign * c.effect, c.unit).lstrip('+')}"
    if c.interval is not None:
        lo, hi = sorted((sign * c.interval[0], sign * c.interval[1]))
        text += f" (95% CI {_fmt(lo, c.unit)} to {_fmt(hi, c.unit)})"
    return text


def _power_text(c: Comparison) -> str:
    if c.mde is None or not math.isfinite(c.mde):
        return "too few data for any power" if c.mde is not None else ""
    return f"MDE {_fmt(c.mde, c.unit).lstrip('+')} at 80% power"


def _needs(c: Comparison) -> str:
    more = f" {c.n_text}" if c.n_text else ""
    return f"inconclusive — needs n ≥ {c.needs_n}{more}" if c.needs_n else "inconclusive — no n can show it"


def tarone_level(min_ps: Sequence[float], alpha: float) -> float:
    """Tarone's screen for discrete tests: the smallest K with at most K comparisons able to reach α/K; the
    family is the comparisons whose smallest attainable p-value is ≤ α/K.  A golden set without a discordant
    pair, or a sampled test that passed every sample in both runs, can never be significant and would only
    dilute the others; continuous tests (smallest attainable p ≈ 0) always stay in."""
    ordered = sorted(min_ps)
    for k in range(1, len(ordered) + 1):
        level = alpha / k
        if sum(1 for p in ordered if p <= level) <= k:
            return level
    return alpha / max(len(ordered), 1)


def testable(comparisons: list[Comparison], alpha: float) -> list[Comparison]:
    """The family: the comparisons that pass Tarone's screen (:func:`tarone_level`)."""
    level = tarone_level([c.min_p for c in comparisons], alpha)
    return [c for c in comparisons if c.min_p <= level]


def decide(comparisons: list[Comparison], alpha: float, correction: str) -> FamilyVerdicts:
    """Adjust the family's p-values and file every comparison (unsorted: the diff sorts)."""
    family = testable(comparisons, alpha)
    for c in comparisons:  # outside the family (Tarone's screen): never significant
        c.p_worse_adj = c.p_better_adj = 1.0
    for c, pw, pb in zip(family, adjust([c.p_worse for c in family], correction),
                         adjust([c.p_better for c in family], correction), strict=True):
        c.p_worse_adj, c.p_better_adj = pw, pb
    out = FamilyVerdicts()
    adj = "" if correction == "none" else f", adjusted {{}} ({correction})"
    for c in comparisons:
        power = _power_text(c)
        if c.counts_worse and c.p_worse_adj < alpha:
            detail = f"{effect_text(c)}; {c.test} p = {c.p_worse:.3g}{adj.format(f'{c.p_worse_adj:.3g}')}"
            out.regressions.append(_finding(c, c.kind, detail, c.effect))
        elif c.counts_better and c.p_better_adj < alpha:
            detail = f"{effect_text(c, -1.0)}; {c.test} p = {c.p_better:.3g}{adj.format(f'{c.p_better_adj:.3g}')}"
            out.improvements.append(_finding(c, c.better_kind, detail, -c.effect))
        else:
            tail = f"; {_needs(c)}" if c.inconclusive else ""
            if c.effect > 0 and c.list_noise and c.counts_worse:
                detail = (f"{effect_text(c)}; {c.test} p = {c.p_worse:.3g}{adj.format(f'{c.p_worse_adj:.3g}')} "
                          f"≥ α = {alpha:g}, not significant; {power}{tail}").rstrip("; ")
                out.noise.append(_finding(c, c.noise_kind, detail, c.effect))
            if c.inconclusive:
                what = f"{c.metric}: " if c.metric else ""
                out.inconclusive.append(_finding(c, "inconclusive", f"{what}{power}; {_needs(c)}", c.mde or 0.0))
    return out


def _finding(c: Comparison, kind: str, detail: str, magnitude: float) -> Finding:
    if c.note:
        detail = f"{detail}; {c.note}"
    return Finding(kind, c.subject, c.base, c.head, detail, magnitude=magnitude, metric=c.metric,
                   items=list(c.evidence))
