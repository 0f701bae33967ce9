"""Judge-corrected pass rates: Rogan-Gladen with the judge's audited sensitivity and specificity.

A judge that passes ``p`` of the outputs, with sensitivity ``Se`` (passes what people pass) and specificity
``Sp`` (fails what people fail), implies a true pass rate ``(p + Sp - 1) / (Se + Sp - 1)`` (Rogan & Gladen,
1978), clipped to [0, 1].  Its interval combines two sources of uncertainty: the run's own (the Wilson
interval of ``p``, mapped through the same correction -- already wider than the observed one by the factor
``1 / (Se + Sp - 1)``) and the audit's (the delta method over ``Se`` and ``Sp``: Greenland 1996, Lang &
Reiczigel 2014)::

    half-width = sqrt(wilson_part^2 + (z * sqrt(pi^2 Var(Se) + (1 - pi)^2 Var(Sp)) / (Se + Sp - 1))^2)

with ``Var(Se)``, ``Var(Sp)`` Agresti-Coull-adjusted (two successes and two failures added), so a perfect
audit on few items still carries uncertainty.  When ``Se + Sp <= 1`` the judge is no better than a
coin and no correction exists (``corrected`` is None, with the reason).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any


def _adjusted_var(successes: int, n: int) -> float:
    p = (successes + 2) / (n + 4)
    return p * (1 - p) / (n + 4)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def sensitivity_specificity(human_pass: Sequence[bool], judge_pass: Sequence[bool]) -> dict[str, Any]:
    """Counts of the audit's binary verdicts: true positives among human passes, true negatives among fails."""
    positives = [j for h, j in zip(human_pass, judge_pass, strict=True) if h]
    negatives = [j for h, j in zip(human_pass, judge_pass, strict=True) if not h]
    return {
        "human_pass": len(positives),
        "judge_pass_of_human_pass": sum(positives),
        "human_fail": len(negatives),
        "judge_fail_of_human_fail": sum(not j for j in negatives),
    }


def corrected_pass_rate(passed: int, n: int, counts: dict[str, Any], confidence: float = 0.95) -> dict[str, Any]:
    """The observed pass rate, its Wilson interval, and the Rogan-Gladen corrected rate with a widened interval."""
    low, high = wilson(passed, n, confidence)
    out: dict[str, Any] = {
        "verdicts": n, "passed": passed, "observed": round(passed / n, 4),
        "observed_ci": [round(low, 4), round(high, 4)],
        "sensitivity": None, "specificity": None, "corrected": None, "corrected_ci": None, "reason": None,
        "method": "rogan-gladen", "confidence": confidence,
    }
    pos, tp = counts["human_pass"], counts["judge_pass_of_human_pass"]
    neg, tn = counts["human_fail"], counts["judge_fail_of_human_fail"]
    if not pos or not neg:
        out["reason"] = "the audit needs items people passed and items they failed"
        return out
    se, sp = tp / pos, tn / neg
    out.update(sensitivity=round(se, 4), specificity=round(sp, 4))
    youden = se + sp - 1
    if youden <= 0:
        out["reason"] = f"sensitivity + specificity - 1 = {youden:.3f} <= 0: the judge is no better than chance"
        return out
    p = passed / n
    pi = min(1.0, max(0.0, (p + sp - 1) / youden))
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    audit_part = z * math.sqrt(pi**2 * _adjusted_var(tp, pos) + (1 - pi) ** 2 * _adjusted_var(tn, neg)) / youden
    below = math.hypot(pi - (low + sp - 1) / youden, audit_part)
    above = math.hypot((high + sp - 1) / youden - pi, audit_part)
    out.update(corrected=round(pi, 4), corrected_ci=[round(max(0.0, pi - below), 4), round(min(1.0, pi + above), 4)])
    return out
