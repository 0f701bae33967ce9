"""Grounding (faithfulness) proxy: is each sentence of an answer backed by some retrieved context?

Method ``"embedding"``: the answer is split into sentences (:func:`split_sentences`); a sentence is
*supported* when its highest cosine similarity to any context sentence -- or to any whole context chunk,
which catches sentences that merge two facts of one chunk -- reaches ``min_sentence_similarity``.  The score
is the supported share of the answer's sentences.

This is a cheap proxy, not entailment: a sentence that reuses the context's words but flips a fact ("not",
another number) can still score high.  A judge-based variant records ``method="judge"`` in the same metric.
An answer without any sentence scores 0.0: there is nothing that could be shown to be grounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..record.recorder import record_metric
from .embeddings.base import Embedder
from .similarity import check_min_score, embedder_details, resolve_embedder, shorten

METHOD = "embedding"

# A sentence ends at . ! ? or an ellipsis (plus closing quotes/brackets) followed by whitespace and an
# uppercase letter, digit or opening quote; CJK full stops end a sentence unconditionally.  Line breaks
# always end a sentence (list items, paragraphs).
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s+["'“‘(\[]*[A-Z0-9À-ÖØ-Þ])|[。！？]+""")
_BULLET = re.compile(r"^\s*(?:[-*•+–]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_INITIALISM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # e.g / i.e / U.S
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs no nos fig figs approx ca cf inc ltd co corp dept est gen gov sen rep "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft vol pp ed eds".split()
)
_WORD = re.compile(r"\w")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with a small regex splitter.

    Rules: every line break ends a sentence and list markers (``-``, ``*``, ``1.``, ``a)``) are dropped;
    inside a line a sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes/brackets) when
    whitespace and an uppercase letter, digit or opening quote follow -- except after a common abbreviation
    (``Dr.``, ``vs.``, ``Jan.``...), a single-letter initial (``J. Smith``) or an initialism (``e.g.``,
    ``U.S.``); CJK ``。！？`` always end a sentence.  Decimals (``3.5``) never split.  Pieces without any
    letter or digit are dropped.  Limitation: a sentence starting in lowercase is not split from the previous
    one.
    """
    if not isinstance(text, str):
        raise ConfigError(f"split_sentences() needs a string, got {type(text).__name__}")
    sentences: list[str] = []
    for raw_line in text.splitlines():
        line = _BULLET.sub("", raw_line, count=1).strip()
        start = 0
        for match in _BOUNDARY.finditer(line):
            if not match.group().startswith(("。", "！", "？")) and _is_abbreviation(line[start : match.start()]):
                continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [s for s in sentences if _WORD.search(s)]


def _is_abbreviation(before: str) -> bool:
    words = before.split()
    if not words:
        return False
    token = words[-1].lstrip("\"'“‘([")
    return (len(token) == 1 and token.isalpha()) or token.lower() in _ABBREVIATIONS or bool(_INITIALISM.match(token))


@dataclass(frozen=True)
class SentenceSupport:
    """How well one answer sentence is backed by the contexts."""

    sentence: str
    score: float  # best cosine to any context sentence or chunk
    supported: bool
    context_index: int | None  # which context the best match came from (None: no contexts)
    evidence: str | None  # the best-matching context sentence or chunk

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentence": self.sentence,
            "score": self.score,
            "supported": self.supported,
            "context_index": self.context_index,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class GroundingResult:
    score: float  # supported share of the answer's sentences, 0..1
    method: str
    min_sentence_similarity: float
    sentences: list[SentenceSupport]
    embedder: dict[str, str] = field(default_factory=dict)

    @property
    def unsupported(self) -> list[SentenceSupport]:
        return [s for s in self.sentences if not s.supported]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "method": self.method,
            "min_sentence_similarity": self.min_sentence_similarity,
            "sentences": [s.to_dict() for s in self.sentences],
            "embedder": dict(self.embedder),
        }


def _check_contexts(contexts: str | Sequence[str], where: str) -> list[str]:
    if isinstance(contexts, str):
        return [contexts]
    if not isinstance(contexts, Sequence):
        raise ConfigError(f"{where}: contexts must be a list of strings, got {type(contexts).__name__}")
    for index, context in enumerate(contexts):
        if not isinstance(context, str):
            raise ConfigError(f"{where}: contexts[{index}] is {type(context).__name__}, not str")
    return list(contexts)


def _unit(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm > 0 else [0.0] * len(vector)


def grounding_score(
    answer: str,
    contexts: str | Sequence[str],
    *,
    embedder: str | Embedder | None = None,
    min_sentence_similarity: float = 0.6,
) -> GroundingResult:
    """Share of the answer's sentences supported by ``contexts`` (see the module docstring).

    ``contexts`` is a list of retrieved chunks (a single string counts as one chunk).  All texts are embedded
    in one call to the embedder.
    """
    where = "grounding_score"
    threshold = check_min_score(min_sentence_similarity, where=where, name="min_sentence_similarity")
    if not isinstance(answer, str):
        raise ConfigError(f"{where}: answer must be a string, got {type(answer).__name__}")
    contexts = _check_contexts(contexts, where)
    model = resolve_embedder(embedder)
    details = embedder_details(model)
    answer_sentences = split_sentences(answer)
    if not answer_sentences:
        return GroundingResult(0.0, METHOD, threshold, [], details)

    candidates: list[tuple[int, str]] = []  # (context index, text): each context sentence and whole chunk
    for index, context in enumerate(contexts):
        pieces = split_sentences(context)
        candidates.extend((index, piece) for piece in pieces)
        if len(pieces) > 1:
            candidates.append((index, context.strip()))
    texts = list(dict.fromkeys([*answer_sentences, *(text for _, text in candidates)]))
    vectors = model.embed(texts)
    if len(vectors) != len(texts):
        raise ConfigError(
            f"embedder {details['backend']}:{details['model']} returned {len(vectors)} vectors for {len(texts)} texts"
        )
    if len({len(vector) for vector in vectors}) > 1:
        raise ConfigError(f"embedder {details['backend']}:{details['model']} returned vectors of different sizes")
    unit = {text: _unit(vector) for text, vector in zip(texts, vectors, strict=True)}

    supports: list[SentenceSupport] = []
    for sentence in answer_sentences:
        best, best_index, best_text = -1.0, None, None
        a = unit[sentence]
        for index, text in candidates:
            score = sum(x * y for x, y in zip(a, unit[text], strict=True))
            if score > best:
                best, best_index, best_text = score, index, text
        best = max(-1.0, min(1.0, best)) if best_text is not None else 0.0
        supports.append(
            SentenceSupport(sentence, best, best_text is not None and best >= threshold, best_index, best_text)
        )
    share = sum(s.supported for s in supports) / len(supports)
    return GroundingResult(share, METHOD, threshold, supports, details)


def assert_grounded(
    answer: str,
    contexts: str | Sequence[str],
    *,
    min_score: float = 0.8,
    embedder: str | Embedder | None = None,
    min_sentence_similarity: float = 0.6,
) -> GroundingResult:
    """Fail unless at least ``min_score`` of the answer's sentences are supported by ``contexts``.

    Records metric ``grounding`` (``min=min_score``; details: method, embedder, the sentence threshold and
    the unsupported sentences) and returns the :class:`GroundingResult`.
    """
    min_score = check_min_score(min_score, where="assert_grounded", low=0.0)
    result = grounding_score(answer, contexts, embedder=embedder, min_sentence_similarity=min_sentence_similarity)
    unsupported = result.unsupported
    details: dict[str, Any] = {
        "method": result.method,
        **result.embedder,
        "min_sentence_similarity": result.min_sentence_similarity,
        "sentences": len(result.sentences),
        "unsupported": [{"sentence": s.sentence[:300], "score": round(s.score, 4)} for s in unsupported[:20]],
    }
    if not result.sentences:
        details["reason"] = "the answer has no sentences"
    metric = record_metric("grounding", result.score, min=min_score, scorer="grounding", details=details)
    if metric.passed is False:
        lines = [
            f"grounding {result.score:.3f} < min_score {min_score:g} (method={result.method}, "
            f"{result.embedder.get('backend')}:{result.embedder.get('model')}, "
            f"sentence threshold {result.min_sentence_similarity:g})"
        ]
        if not result.sentences:
            lines.append(f"  the answer has no sentences: {shorten(answer)}")
        else:
            lines.append(f"  unsupported ({len(unsupported)} of {len(result.sentences)} sentences):")
            for s in unsupported[:10]:
                evidence = (
                    "no contexts"
                    if s.evidence is None
                    else (f"best {s.score:.3f} vs context[{s.context_index}]: {shorten(s.evidence, 120)}")
                )
                lines.append(f"    - {shorten(s.sentence, 160)}  ({evidence})")
            if len(unsupported) > 10:
                lines.append(f"    ... and {len(unsupported) - 10} more")
        raise AssertionError("\n".join(lines))
    return result
