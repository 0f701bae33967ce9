"""Retrieval metrics that follow trec_eval's conventions, plus :func:`assert_retrieval`.

Inputs
------
``retrieved``
    Either a ranking (a list or tuple of document ids, best first) or a mapping ``{doc_id: score}``.  A
    mapping is ranked by score descending; **ties are broken by document id descending** (the id's ``str``
    form is compared), exactly like trec_eval, which sorts by score and then by docno descending.  A
    ranking is used as given.  Duplicate ids in a ranking are removed, keeping the first occurrence.
``relevant``
    Either a collection of relevant ids (each has grade 1) or a mapping ``{doc_id: grade}``.  Ids with a
    grade ``<= 0`` are judged non-relevant.  Binary metrics (hit rate, recall, precision, MRR, AP,
    R-precision) count every id with grade ``> 0`` as relevant; nDCG uses the grades.

Conventions (trec_eval)
-----------------------
* ``precision@k`` divides by ``k`` even when fewer than ``k`` documents were retrieved.
* ``recall@k`` and average precision divide by the number of relevant documents, retrieved or not.
* ``mrr`` (trec_eval's ``recip_rank``), ``map`` and ``r_precision`` use the whole ranking unless a
  cutoff is given; ``r_precision`` divides by R (the number of relevant documents) even when fewer were
  retrieved.
* nDCG uses a log2 discount (rank ``i`` counts ``1 / log2(i + 1)``), gain ``grade`` ("linear", trec_eval's
  ``ndcg``) or ``2**grade - 1`` ("exponential", Burges et al.); the ideal DCG is built from *all* judged
  relevant documents, retrieved or not.
* No relevant document at all: governed by ``empty``.  ``"zero"`` (default, trec_eval's behaviour for
  queries it evaluates) returns 0.0 for every metric, ``"one"`` returns 1.0 (the retriever could not have
  done better) and ``"skip"`` returns ``None`` so that :func:`mean_metric` leaves the query out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Union

from ..errors import ConfigError
from ..record.recorder import record_metric

DocId = Union[str, int]
Retrieved = Union[Sequence[DocId], Mapping[DocId, float]]
Relevant = Union[Iterable[DocId], Mapping[DocId, float]]
EmptyPolicy = Literal["zero", "one", "skip"]
Gain = Literal["linear", "exponential"]

EMPTY_POLICIES = ("zero", "one", "skip")
GAINS = ("linear", "exponential")
_MAX_IDS_IN_DETAILS = 100


# -- input normalisation ------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _check_id(doc_id: Any, where: str) -> None:
    try:
        hash(doc_id)
    except TypeError:
        raise ConfigError(
            f"{where}: document id {doc_id!r} is not hashable ({type(doc_id).__name__}); use str or int ids"
        ) from None


def rank(retrieved: Retrieved) -> list[DocId]:
    """The ranking as a list of unique ids, best first (see the module doc for scores and ties)."""
    if isinstance(retrieved, (str, bytes)):
        raise ConfigError(
            f"retrieved: expected a list of document ids or a {{doc_id: score}} mapping, got the string "
            f"{retrieved[:40]!r}; wrap a single id in a list"
        )
    if isinstance(retrieved, Mapping):
        items = []
        for doc_id, score in retrieved.items():
            _check_id(doc_id, "retrieved")
            if not _is_number(score):
                raise ConfigError(f"retrieved: score of document {doc_id!r} must be a finite number, got {score!r}")
            items.append((doc_id, float(score)))
        # score descending, then id descending (trec_eval): sort by id descending first, then a stable sort
        items.sort(key=lambda item: str(item[0]), reverse=True)
        items.sort(key=lambda item: item[1], reverse=True)
        return [doc_id for doc_id, _ in items]
    if isinstance(retrieved, (set, frozenset)) or not isinstance(retrieved, Iterable):
        raise ConfigError(
            f"retrieved: expected a ranked list of document ids or a {{doc_id: score}} mapping, "
            f"got {type(retrieved).__name__} (a set has no order)"
        )
    ranking: list[DocId] = []
    seen: set[Any] = set()
    for doc_id in retrieved:
        _check_id(doc_id, "retrieved")
        if doc_id not in seen:
            seen.add(doc_id)
            ranking.append(doc_id)
    return ranking


def judgments(relevant: Relevant) -> dict[DocId, float]:
    """The relevance judgments as ``{doc_id: grade}`` keeping only grades > 0."""
    if isinstance(relevant, (str, bytes)):
        raise ConfigError(
            f"relevant: expected a collection of relevant ids or a {{doc_id: grade}} mapping, got the string "
            f"{relevant[:40]!r}; wrap a single id in a list"
        )
    grades: dict[DocId, float] = {}
    if isinstance(relevant, Mapping):
        for doc_id, grade in relevant.items():
            _check_id(doc_id, "relevant")
            if isinstance(grade, bool):
                grade = int(grade)
            if not _is_number(grade):
                raise ConfigError(f"relevant: grade of document {doc_id!r} must be a finite number, got {grade!r}")
            if float(grade) > 0:
                grades[doc_id] = float(grade)
        return grades
    if not isinstance(relevant, Iterable):
        raise ConfigError(
            f"relevant: expected a collection of relevant ids or a {{doc_id: grade}} mapping, "
            f"got {type(relevant).__name__}"
        )
    for doc_id in relevant:
        _check_id(doc_id, "relevant")
        grades[doc_id] = 1.0
    return grades


def _check_k(k: Any, name: str = "k", optional: bool = False) -> int | None:
    if k is None and optional:
        return None
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"{name} must be a positive integer, got {k!r}")
    return k


def _check_empty(empty: Any) -> None:
    if empty not in EMPTY_POLICIES:
        raise ConfigError(f"empty must be one of {', '.join(map(repr, EMPTY_POLICIES))}, got {empty!r}")


def _empty_value(empty: str) -> float | None:
    return {"zero": 0.0, "one": 1.0, "skip": None}[empty]


def _prepare(retrieved: Retrieved, relevant: Relevant, empty: str) -> tuple[list[DocId], dict[DocId, float]]:
    _check_empty(empty)
    return rank(retrieved), judgments(relevant)


# -- metrics ------------------------------------------------------------------------------------------


def hit_rate(retrieved: Retrieved, relevant: Relevant, k: int, *, empty: EmptyPolicy = "zero") -> float | None:
    """1.0 when at least one relevant document is in the top ``k``, else 0.0."""
    _check_k(k)
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    return 1.0 if any(doc_id in grades for doc_id in ranking[:k]) else 0.0


def recall_at_k(retrieved: Retrieved, relevant: Relevant, k: int, *, empty: EmptyPolicy = "zero") -> float | None:
    """Relevant documents in the top ``k`` divided by the number of relevant documents."""
    _check_k(k)
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    return sum(doc_id in grades for doc_id in ranking[:k]) / len(grades)


def precision_at_k(retrieved: Retrieved, relevant: Relevant, k: int, *, empty: EmptyPolicy = "zero") -> float | None:
    """Relevant documents in the top ``k`` divided by ``k`` (even when fewer were retrieved)."""
    _check_k(k)
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    return sum(doc_id in grades for doc_id in ranking[:k]) / k


def mrr(retrieved: Retrieved, relevant: Relevant, k: int | None = None, *, empty: EmptyPolicy = "zero") -> float | None:
    """Reciprocal rank of the first relevant document (within the top ``k`` when given), 0.0 if none."""
    k = _check_k(k, optional=True)
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    for position, doc_id in enumerate(ranking[:k], start=1):
        if doc_id in grades:
            return 1.0 / position
    return 0.0


def _gain(grade: float, gain: str) -> float:
    return grade if gain == "linear" else 2.0**grade - 1.0


def ndcg_at_k(
    retrieved: Retrieved,
    relevant: Relevant,
    k: int,
    gain: Gain = "linear",
    *,
    empty: EmptyPolicy = "zero",
) -> float | None:
    """Normalised discounted cumulative gain at ``k`` with graded relevance and a log2 discount."""
    _check_k(k)
    if gain not in GAINS:
        raise ConfigError(f"gain must be 'linear' or 'exponential', got {gain!r}")
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    dcg = sum(
        _gain(grades[doc_id], gain) / math.log2(position + 1)
        for position, doc_id in enumerate(ranking[:k], start=1)
        if doc_id in grades
    )
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(_gain(grade, gain) / math.log2(position + 1) for position, grade in enumerate(ideal, start=1))
    return dcg / idcg


def average_precision(
    retrieved: Retrieved, relevant: Relevant, k: int | None = None, *, empty: EmptyPolicy = "zero"
) -> float | None:
    """Mean of precision@i over the ranks i of relevant retrieved documents, divided by all relevant ones."""
    k = _check_k(k, optional=True)
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    hits = 0
    total = 0.0
    for position, doc_id in enumerate(ranking[:k], start=1):
        if doc_id in grades:
            hits += 1
            total += hits / position
    return total / len(grades)


def r_precision(retrieved: Retrieved, relevant: Relevant, *, empty: EmptyPolicy = "zero") -> float | None:
    """Precision at R, R being the number of relevant documents."""
    ranking, grades = _prepare(retrieved, relevant, empty)
    if not grades:
        return _empty_value(empty)
    cutoff = len(grades)
    return sum(doc_id in grades for doc_id in ranking[:cutoff]) / cutoff


def retrieval_scores(
    retrieved: Retrieved,
    relevant: Relevant,
    k: int = 5,
    *,
    gain: Gain = "linear",
    empty: EmptyPolicy = "zero",
) -> dict[str, float | None]:
    """Every metric at once: ``hit@k, recall@k, precision@k, mrr, ndcg@k, map, r_precision``.

    ``mrr``, ``map`` and ``r_precision`` use the whole ranking (trec_eval's ``recip_rank``, ``map`` and
    ``R-prec``); the others are cut at ``k``.
    """
    _check_k(k)
    ranking, grades = _prepare(retrieved, relevant, empty)
    # the metric functions re-normalise; hand them the normalised forms so it happens once per call
    return {
        f"hit@{k}": hit_rate(ranking, grades, k, empty=empty),
        f"recall@{k}": recall_at_k(ranking, grades, k, empty=empty),
        f"precision@{k}": precision_at_k(ranking, grades, k, empty=empty),
        "mrr": mrr(ranking, grades, empty=empty),
        f"ndcg@{k}": ndcg_at_k(ranking, grades, k, gain, empty=empty),
        "map": average_precision(ranking, grades, empty=empty),
        "r_precision": r_precision(ranking, grades, empty=empty),
    }


def mean_metric(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None`` (skipped queries); ``None`` when nothing is left."""
    kept = []
    for value in values:
        if value is None:
            continue
        if not _is_number(value):
            raise ConfigError(f"mean_metric: values must be finite numbers or None, got {value!r}")
        kept.append(float(value))
    if not kept:
        return None
    return math.fsum(kept) / len(kept)


# -- assertion ----------------------------------------------------------------------------------------


def _json_id(doc_id: Any) -> Any:
    return doc_id if isinstance(doc_id, (str, int, float)) and not isinstance(doc_id, bool) else str(doc_id)


def _thresholds(k: int, bounds: dict[str, float | None]) -> dict[str, tuple[str, float | None]]:
    """Metric name -> (option name, bound) for :func:`assert_retrieval`; ConfigError on a non-number bound."""
    names = {
        "min_recall": f"recall@{k}",
        "min_precision": f"precision@{k}",
        "min_mrr": "mrr",
        "min_ndcg": f"ndcg@{k}",
        "min_hit_rate": f"hit@{k}",
        "min_map": "map",
    }
    thresholds = {names[option]: (option, bound) for option, bound in bounds.items()}
    for option, bound in thresholds.values():
        if bound is not None and not _is_number(bound):
            raise ConfigError(f"assert_retrieval: {option} must be a number or None, got {bound!r}")
    return thresholds


def _retrieval_details(
    ranking: list[DocId], grades: dict[DocId, float], k: int, gain: str, empty: str
) -> dict[str, Any]:
    """The ``details`` recorded with every retrieval metric: the top-k ranking and the judged relevant ids."""
    details: dict[str, Any] = {
        "k": k,
        "empty_policy": empty,
        "gain": gain,
        "retrieved_top_k": [_json_id(doc_id) for doc_id in ranking[:k]],
        "relevant_ids": [_json_id(doc_id) for doc_id in list(grades)[:_MAX_IDS_IN_DETAILS]],
        "n_relevant": len(grades),
        "n_retrieved": len(ranking),
    }
    if len(grades) > _MAX_IDS_IN_DETAILS:
        details["relevant_ids_truncated"] = True
    if any(grade != 1.0 for grade in grades.values()):
        details["grades"] = {str(doc_id): grade for doc_id, grade in list(grades.items())[:_MAX_IDS_IN_DETAILS]}
    return details


def _record_scores(
    scores: dict[str, float | None], thresholds: dict[str, tuple[str, float | None]], details: dict[str, Any]
) -> list[str]:
    """Record every computed metric; return the misses as ``"name=value < min"`` strings."""
    misses = []
    for name, value in scores.items():
        if value is None:
            continue
        bound = thresholds.get(name, (None, None))[1]
        result = record_metric(
            name, value, min=None if bound is None else float(bound), scorer="retrieval", details=details
        )
        if result.passed is False:
            misses.append(f"{name}={value:.4g} < {result.min:g}")
    return misses


def assert_retrieval(
    retrieved: Retrieved,
    relevant: Relevant,
    *,
    k: int = 5,
    min_recall: float | None = None,
    min_precision: float | None = None,
    min_mrr: float | None = None,
    min_ndcg: float | None = None,
    min_hit_rate: float | None = None,
    min_map: float | None = None,
    gain: Gain = "linear",
    empty: EmptyPolicy = "zero",
) -> dict[str, float | None]:
    """Compute :func:`retrieval_scores`, record each metric, and fail when any threshold is missed.

    Every computed metric is recorded with ``scorer="retrieval"`` (metrics that are ``None`` under
    ``empty="skip"`` are not recorded and cannot fail).  Returns the scores.
    """
    _check_k(k)
    thresholds = _thresholds(
        k,
        {
            "min_recall": min_recall,
            "min_precision": min_precision,
            "min_mrr": min_mrr,
            "min_ndcg": min_ndcg,
            "min_hit_rate": min_hit_rate,
            "min_map": min_map,
        },
    )
    scores = retrieval_scores(retrieved, relevant, k, gain=gain, empty=empty)
    grades = judgments(relevant)
    details = _retrieval_details(rank(retrieved), grades, k, gain, empty)
    misses = _record_scores(scores, thresholds, details)
    if misses:
        raise AssertionError(
            f"retrieval below threshold: {', '.join(misses)}; "
            f"retrieved top-{k}: {details['retrieved_top_k']}; relevant: {details['relevant_ids']}"
            + (" (truncated)" if len(grades) > _MAX_IDS_IN_DETAILS else "")
        )
    return scores
