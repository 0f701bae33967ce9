"""Shadow comparisons: a candidate's answer against the production answer of an imported case, per case.

``shadow_compare(candidate, golden_case, judge=judge, criteria=...)`` asks the judge which answer meets the
criteria better in both orders (``judge.compare``: a position-biased judge gives "inconsistent", counted as a
tie) and, unless ``similarity=False``, how close the two answers are.  It records

``shadow_preference``  1 = the candidate is better, 0 = production is better, 0.5 = tie or inconsistent;
                       ``details``: winner, case id, the production feedback and whether it was negative;
``shadow_similarity``  cosine similarity of the two answers (the configured embedder, or ``embedder=``).

Over the items of one test function, ``pytest-llmops shadow REPORT`` turns these into the paired verdict
(candidate better, worse or indistinguishable; exact sign test, the win share with its Wilson interval) and
lists the cases from negative feedback that now pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..common.feedback import NEGATIVE_FEEDBACK, case_feedback, is_negative
from ..errors import ConfigError
from ..record.recorder import record_metric

__all__ = ["NEGATIVE_FEEDBACK", "ShadowResult", "feedback_of", "production_answer", "shadow_compare"]


@dataclass
class ShadowResult:
    case_id: str | None
    reference: str
    preference: float | None  # 1 candidate better, 0 production better, 0.5 tie/inconsistent; None without judge
    winner: str | None  # "candidate", "production", "tie", "inconsistent"
    similarity: float | None
    negative_feedback: bool


def production_answer(case: Any) -> str:
    """The production answer an imported case keeps: ``expected``, else the last turn's ``expected``."""
    expected = getattr(case, "expected", None)
    if isinstance(expected, str) and expected:
        return expected
    turns = getattr(case, "turns", None) or []
    last = turns[-1].get("expected") if turns else None
    if isinstance(last, str) and last:
        return last
    raise ConfigError(f"shadow_compare: case {getattr(case, 'id', '?')!r} has no production answer ('expected')")


def feedback_of(case: Any) -> str | None:
    return case_feedback(getattr(case, "metadata", None))


def shadow_compare(candidate: str, case: Any, *, judge: Any = None, criteria: str | None = None,
                   similarity: bool = True, embedder: Any = None) -> ShadowResult:
    """Compare ``candidate`` with the production answer of ``case``; records the metrics named above."""
    if judge is not None and not criteria:
        raise ConfigError("shadow_compare: pass criteria=... (what makes an answer better) with judge=")
    reference = production_answer(case)
    feedback = feedback_of(case)
    negative = is_negative(feedback)
    details = {"case": getattr(case, "id", None), "feedback": feedback, "negative_feedback": negative}
    preference = winner = None
    if judge is not None:
        comparison = judge.compare(candidate, reference, criteria=criteria)
        preference = comparison.value
        winner = {"a": "candidate", "b": "production"}.get(comparison.winner, comparison.winner)
        record_metric("shadow_preference", preference, scorer="shadow", details={**details, "winner": winner})
    score = None
    if similarity:
        from .similarity import similarity as _similarity

        score = _similarity(candidate, reference, embedder=embedder)
        record_metric("shadow_similarity", score, scorer="shadow", details=details)
    return ShadowResult(details["case"], reference, preference, winner, score, negative)
