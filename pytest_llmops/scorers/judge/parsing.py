"""Reading a judge's answer: JSON extraction, pydantic validation, and G-Eval probability weighting.

A judge answers with one JSON object.  :func:`extract_json` takes it from the bare answer, from a fenced
```` ```json ```` block, or from the first ``{`` to the last ``}`` of an answer with prose around it; the
object is then validated by a pydantic model (:func:`score_model`, :class:`CompareVerdict`,
:func:`grounding_model`).  A failure raises :class:`VerdictInvalid`, which the judge answers with one repair
request before giving up.

:func:`weighted_score` implements G-Eval's probability-weighted score (Liu et al., 2023): the expected value
of the score under the judge's token distribution at the position of the score digit, renormalized over the
tokens that are scale values.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from typing import Any

_FENCED = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_SCORE_FIELD = re.compile(r'"score"\s*:\s*"?(-?\d+)')
_TOKEN_PADDING = " \t\r\n\"':,}"  # what may stick to a score digit inside one token (' 4', '4}', ':4')


class VerdictInvalid(ValueError):
    """The judge's answer is not valid JSON of the expected shape; ``reason`` says why, for the repair prompt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def extract_json(text: str) -> Any:
    """The JSON object in a judge's answer (bare, fenced, or embedded in prose); VerdictInvalid if none."""
    candidates = [text.strip()]
    candidates += [block.strip() for block in _FENCED.findall(text)]
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        candidates.append(text[first : last + 1])
    error = "the answer is empty" if not text.strip() else "the answer is not a JSON object"
    for candidate in candidates:
        if not candidate:
            continue
        try:
            value = json.loads(candidate)
        except ValueError as exc:
            error = f"the answer is not valid JSON ({exc})"
            continue
        if isinstance(value, dict):
            return value
        error = f"the answer is JSON {type(value).__name__}, not an object"
    raise VerdictInvalid(error)


def _validation_reason(exc: Any) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "(object)"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


def validate(model: Any, text: str) -> Any:
    """``text`` parsed and validated by the pydantic ``model``; VerdictInvalid with field-level reasons."""
    import pydantic  # noqa: PLC0415

    data = extract_json(text)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise VerdictInvalid(f"the JSON does not match the expected fields ({_validation_reason(exc)})") from None


@functools.lru_cache(maxsize=32)
def score_model(low: int, high: int) -> Any:
    """Pydantic model of a score verdict: ``{"reasoning": str, "score": int in [low, high]}``.

    ``reasoning`` may also arrive as ``reason`` / ``explanation`` / ``rationale``; ``score`` is strict about
    its range (an off-scale score is an unusable answer, repaired once), lax about ``"4"`` vs ``4``.
    """
    import pydantic  # noqa: PLC0415

    return pydantic.create_model(
        f"ScoreVerdict_{low}_{high}".replace("-", "m"),
        reasoning=(str, pydantic.Field(..., validation_alias=_reasoning_aliases())),
        score=(int, pydantic.Field(..., ge=low, le=high)),
    )


def _reasoning_aliases() -> Any:
    """``reasoning`` also read from the near-misses small judge models write (``reason``, ``explanation``)."""
    import pydantic  # noqa: PLC0415

    return pydantic.AliasChoices("reasoning", "reason", "explanation", "rationale")


@functools.lru_cache(maxsize=1)
def compare_model() -> Any:
    """Pydantic model of a pairwise verdict: ``{"reasoning": str, "winner": "first" | "second" | "tie"}``."""
    from typing import Literal  # noqa: PLC0415

    import pydantic  # noqa: PLC0415

    class CompareVerdict(pydantic.BaseModel):
        reasoning: str = pydantic.Field(..., validation_alias=_reasoning_aliases())
        winner: Literal["first", "second", "tie"]

        @pydantic.field_validator("winner", mode="before")
        @classmethod
        def _normalize(cls, value: Any) -> Any:
            return value.strip().lower() if isinstance(value, str) else value

    return CompareVerdict


@functools.lru_cache(maxsize=64)
def grounding_model(sentences: int) -> Any:
    """Pydantic model of per-sentence verdicts: one ``{"index", "supported", "reason"}`` per sentence 1..n."""
    import pydantic  # noqa: PLC0415

    class SentenceVerdict(pydantic.BaseModel):
        index: int = pydantic.Field(..., ge=1, le=sentences)
        supported: bool
        reason: str = ""

    class GroundingVerdicts(pydantic.BaseModel):
        sentences: list[SentenceVerdict]

        @pydantic.model_validator(mode="after")
        def _one_per_sentence(self) -> GroundingVerdicts:
            seen = [v.index for v in self.sentences]
            missing = sorted(set(range(1, sentences + 1)) - set(seen))
            duplicated = sorted({i for i in seen if seen.count(i) > 1})
            if missing or duplicated:
                raise ValueError(
                    f"need exactly one verdict per sentence 1..{sentences}"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; duplicated {duplicated}" if duplicated else "")
                )
            return self

    return GroundingVerdicts


# -- G-Eval weighting --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightedScore:
    score: float  # expected score under the renormalized distribution
    distribution: dict[int, float]  # scale value -> probability (renormalized, sums to 1)
    mass: float  # probability mass the scale tokens had before renormalization


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _content(logprobs: Any) -> list[Any] | None:
    content = _field(logprobs, "content") if logprobs is not None else None
    return list(content) if isinstance(content, (list, tuple)) and content else None


def _score_token_index(tokens: list[str], text: str, score: int) -> int | None:
    """Index of the token holding the score digit of the ``"score"`` field whose value is ``score``."""
    matches = [m for m in _SCORE_FIELD.finditer(text) if int(m.group(1)) == score]
    if not matches:
        return None
    offset = matches[-1].start(1)
    if "".join(tokens) != text:  # tokens do not spell the answer: the first score-valued token after "score"
        after_key = False
        for index, token in enumerate(tokens):
            if "score" in token:
                after_key = True
            elif after_key and token.strip(_TOKEN_PADDING) == str(score):
                return index
        return None
    position = 0
    for index, token in enumerate(tokens):
        if position <= offset < position + len(token):
            return index
        position += len(token)
    return None


def weighted_score(logprobs: Any, text: str, score: int, low: int, high: int) -> WeightedScore | None:
    """G-Eval score from a chat completion's ``logprobs``, or None when they do not allow it.

    Needs single-token scale values (every value in ``[low, high]`` is one digit 0-9), the token holding the
    parsed score, and its ``top_logprobs``.  Tokens that differ only by surrounding whitespace, quotes or JSON
    punctuation (``"4"``, ``" 4"``, ``"4}"``) count as the same value; tokens that are not scale values are
    dropped and the rest renormalized.
    """
    if low < 0 or high > 9:
        return None
    content = _content(logprobs)
    if content is None:
        return None
    tokens = [str(_field(item, "token") or "") for item in content]
    index = _score_token_index(tokens, text, score)
    if index is None:
        return None
    item = content[index]
    candidates = [(tokens[index], _field(item, "logprob"))]
    candidates += [
        (str(_field(top, "token") or ""), _field(top, "logprob")) for top in _field(item, "top_logprobs") or []
    ]
    best: dict[str, float] = {}
    for token, logprob in candidates:
        if not isinstance(logprob, (int, float)) or not math.isfinite(logprob):
            continue
        best[token] = max(best.get(token, -math.inf), float(logprob))  # the sampled token is also in the top list
    probabilities: dict[int, float] = {}
    for token, logprob in best.items():
        value = token.strip(_TOKEN_PADDING)
        if value.isdigit() and low <= int(value) <= high:
            probabilities[int(value)] = probabilities.get(int(value), 0.0) + math.exp(logprob)
    mass = sum(probabilities.values())
    if mass <= 0:
        return None
    distribution = {value: probabilities[value] / mass for value in sorted(probabilities)}
    expected = sum(value * p for value, p in distribution.items())
    return WeightedScore(min(float(high), max(float(low), expected)), distribution, min(1.0, mass))
