"""Bias probes of a judge: position flips of pairwise verdicts, verbosity bias, and test-retest agreement.

* **Position flip rate**: ``judge.compare`` asks in both orders; a pair *flips* when the winner changes with
  the order.  ``first_position_rate`` is the share of single-order verdicts that picked the response shown
  first (0.5 for an unbiased judge on balanced pairs; 1.0 for a judge that always says "first").
* **Verbosity**: Spearman's rho of the judge's score against the output's length in characters, beside the
  humans' rho on the same items; the bias is the difference (a judge that rewards length more than people do).
* **Test-retest**: the same item judged several times; the share of items whose rounded scores all agree and
  Krippendorff's alpha across the repetitions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from .agreement import krippendorff_alpha


def position_flips(verdicts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``verdicts``: per pair, (winner with a shown first, winner with b shown first), each "a", "b" or "tie"."""
    if not verdicts:
        return {"pairs": 0, "flip_rate": None, "first_position_rate": None}
    flips = sum(first != second for first, second in verdicts)
    picked_first = sum(first == "a" for first, _ in verdicts) + sum(second == "b" for _, second in verdicts)
    return {
        "pairs": len(verdicts),
        "flip_rate": round(flips / len(verdicts), 4),
        "first_position_rate": round(picked_first / (2 * len(verdicts)), 4),
    }


def _spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    from scipy.stats import spearmanr  # noqa: PLC0415

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(spearmanr(x, y).statistic)
    return None if math.isnan(rho) else round(rho, 4)


def verbosity(lengths: Sequence[int], judge: Sequence[float], human: Sequence[float]) -> dict[str, Any]:
    """Spearman's rho of score vs length for the judge and for the humans, and their difference."""
    judge_rho, human_rho = _spearman(lengths, judge), _spearman(lengths, human)
    bias = None if judge_rho is None or human_rho is None else round(judge_rho - human_rho, 4)
    return {"items": len(lengths), "judge_rho": judge_rho, "human_rho": human_rho, "bias": bias}


def retest(repeats: Sequence[Sequence[int]], labels: Sequence[Any]) -> dict[str, Any]:
    """Agreement of repeated verdicts on the same items (each inner sequence: one item's rounded scores)."""
    repeated = [r for r in repeats if len(r) >= 2]
    if not repeated:
        return {"items": 0, "exact": None, "alpha": None}
    exact = sum(len(set(r)) == 1 for r in repeated) / len(repeated)
    units = [{f"run-{i}": value for i, value in enumerate(r)} for r in repeated]
    alpha = krippendorff_alpha(units, labels, "ordinal")
    return {"items": len(repeated), "exact": round(exact, 4), "alpha": None if alpha is None else round(alpha, 4)}
