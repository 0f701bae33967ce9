"""What the judge returns: a scored output, a pairwise comparison, and a sentence-by-sentence grounding verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .text import clip

#: Metric value of each comparison winner.
COMPARE_VALUES = {"a": 1.0, "b": 0.0, "tie": 0.5, "inconsistent": 0.5}


@dataclass(frozen=True, kw_only=True)
class Judgment:
    """One scored output.  ``score`` is the weighted (logprobs) or mean (samples) score on ``scale``."""

    score: float
    criteria: str
    scale: tuple[int, int]
    min_score: float | None
    passed: bool | None
    reasoning: str
    method: str  # "logprobs" | "samples"
    sample_scores: list[int]
    reasonings: list[str]
    raw: list[str]
    model: str
    distribution: dict[int, float] | None = None
    template: dict[str, str] = field(default_factory=dict)

    def __float__(self) -> float:
        return self.score

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "judge_model": self.model,
            **self.template,
            "criteria": self.criteria,
            "scale": list(self.scale),
            "method": self.method,
            "n_samples": len(self.sample_scores),
            "sample_scores": list(self.sample_scores),
            "reasoning": self.reasoning,
            "raw": [clip(r) for r in self.raw],
        }
        if len(self.reasonings) > 1:
            details["reasonings"] = [clip(r, 500) for r in self.reasonings]
        if self.distribution is not None:
            details["distribution"] = {str(k): round(v, 6) for k, v in self.distribution.items()}
        return details


@dataclass(frozen=True)
class Comparison:
    """A pairwise verdict judged in both orders: ``winner`` is "a", "b" or "tie" when both orders agree,
    else "inconsistent".  ``verdicts`` are the per-order winners as (a shown first, b shown first)."""

    winner: str
    value: float  # 1.0 a wins, 0.0 b wins, 0.5 tie or inconsistent
    criteria: str
    verdicts: tuple[str, str]
    reasonings: tuple[str, str]
    raw: list[str]  # every judge answer in call order (two, more after repairs)
    model: str
    template: dict[str, str] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return self.winner != "inconsistent"

    def details(self) -> dict[str, Any]:
        """The ``details`` of the ``judge_compare:<slug>`` metric."""
        return {
            "judge_model": self.model,
            **self.template,
            "criteria": self.criteria,
            "winner": self.winner,
            "verdicts": {"a_first": self.verdicts[0], "b_first": self.verdicts[1]},
            "reasonings": [clip(r, 500) for r in self.reasonings],
            "raw": [clip(r) for r in self.raw],
            "value_meaning": "1 = a wins, 0 = b wins, 0.5 = tie or inconsistent",
        }


@dataclass(frozen=True)
class SentenceVerdict:
    sentence: str
    supported: bool
    reason: str


@dataclass(frozen=True)
class GroundingJudgment:
    """Judge-based grounding: the share of answer sentences the judge marks supported by the contexts."""

    score: float
    min_score: float | None
    passed: bool | None
    sentences: list[SentenceVerdict]
    raw: list[str]
    model: str | None
    method: str = "judge"
    template: dict[str, str] = field(default_factory=dict)

    @property
    def unsupported(self) -> list[SentenceVerdict]:
        return [s for s in self.sentences if not s.supported]
