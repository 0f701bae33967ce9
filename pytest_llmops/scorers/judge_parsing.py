"""Old import path; the code lives in scorers/judge/parsing.py."""

from __future__ import annotations

from .judge.parsing import (
    VerdictInvalid,
    WeightedScore,
    compare_model,
    extract_json,
    grounding_model,
    score_model,
    validate,
    weighted_score,
)

__all__ = [
    "VerdictInvalid",
    "WeightedScore",
    "compare_model",
    "extract_json",
    "grounding_model",
    "score_model",
    "validate",
    "weighted_score",
]
