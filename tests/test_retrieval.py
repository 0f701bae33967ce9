"""Retrieval metrics: trec_eval conventions by hand, and a randomized cross-check against ranx."""

from __future__ import annotations

import math
import random
import warnings

import pytest

from pytest_llmops.errors import ConfigError
from pytest_llmops.scorers.retrieval import (
    assert_retrieval,
    average_precision,
    hit_rate,
    mean_metric,
    mrr,
    ndcg_at_k,
    precision_at_k,
    r_precision,
    rank,
    recall_at_k,
    retrieval_scores,
)

# -- hand cases for each convention -------------------------------------------------------------------


def test_basic_values_on_a_small_ranking():
    retrieved = ["a", "b", "c", "d", "e"]
    relevant = {"b", "d", "z"}
    assert hit_rate(retrieved, relevant, 1) == 0.0
    assert hit_rate(retrieved, relevant, 2) == 1.0
    assert recall_at_k(retrieved, relevant, 5) == pytest.approx(2 / 3)
    assert precision_at_k(retrieved, relevant, 5) == pytest.approx(2 / 5)
    assert mrr(retrieved, relevant) == pytest.approx(1 / 2)
    # AP divides by all 3 relevant docs (z never retrieved): (1/2 + 2/4) / 3
    assert average_precision(retrieved, relevant) == pytest.approx((1 / 2 + 2 / 4) / 3)
    # R = 3: top 3 = a, b, c -> 1 hit
    assert r_precision(retrieved, relevant) == pytest.approx(1 / 3)


def test_precision_divides_by_k_even_when_fewer_documents_were_retrieved():
    assert precision_at_k(["a", "b"], {"a", "b"}, 10) == pytest.approx(0.2)


def test_r_precision_divides_by_r_even_when_fewer_documents_were_retrieved():
    assert r_precision(["a"], {"a", "b", "c", "d"}) == pytest.approx(0.25)


def test_mrr_cutoff():
    assert mrr(["x", "y", "a"], {"a"}) == pytest.approx(1 / 3)
    assert mrr(["x", "y", "a"], {"a"}, k=2) == 0.0


def test_duplicates_are_removed_keeping_the_first_occurrence():
    # without dedup, "a" would count twice in precision and recall would exceed 1
    retrieved = ["a", "a", "b", "a", "c"]
    assert rank(retrieved) == ["a", "b", "c"]
    assert precision_at_k(retrieved, {"a", "c"}, 3) == pytest.approx(2 / 3)
    assert recall_at_k(retrieved, {"a"}, 5) == 1.0
    assert average_precision(retrieved, {"a", "c"}) == pytest.approx((1 + 2 / 3) / 2)


def test_ndcg_linear_and_exponential_gain_by_hand():
    relevant = {"a": 3, "b": 2, "c": 1, "d": 0}
    retrieved = ["d", "b", "a"]
    dcg_lin = 0 + 2 / math.log2(3) + 3 / math.log2(4)
    idcg_lin = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(retrieved, relevant, 3) == pytest.approx(dcg_lin / idcg_lin)
    dcg_exp = 0 + 3 / math.log2(3) + 7 / math.log2(4)
    idcg_exp = 7 + 3 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(retrieved, relevant, 3, gain="exponential") == pytest.approx(dcg_exp / idcg_exp)


def test_ideal_dcg_uses_relevant_documents_that_were_not_retrieved():
    # only "a" retrieved at rank 1; "b" (relevant, never retrieved) still enters the ideal ranking
    value = ndcg_at_k(["a"], {"a": 1, "b": 1}, 5)
    assert value == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "b"], {"a": 1, "b": 1}, 5) == pytest.approx(1.0)


def test_non_positive_grades_are_non_relevant():
    relevant = {"a": 0, "b": -1, "c": 2}
    assert hit_rate(["a", "b"], relevant, 2) == 0.0
    assert recall_at_k(["a", "b", "c"], relevant, 3) == 1.0  # R = 1 (only c)
    assert r_precision(["c"], relevant) == 1.0


@pytest.mark.parametrize(
    "empty, expected",
    [("zero", 0.0), ("one", 1.0), ("skip", None)],
)
def test_empty_relevance_policy(empty, expected):
    for relevant in (set(), [], {"a": 0}):
        scores = retrieval_scores(["a", "b"], relevant, 2, empty=empty)
        assert set(scores) == {"hit@2", "recall@2", "precision@2", "mrr", "ndcg@2", "map", "r_precision"}
        assert all(value == expected for value in scores.values()), scores


def test_empty_retrieval_scores_zero():
    scores = retrieval_scores([], {"a"}, 3)
    assert all(value == 0.0 for value in scores.values())


def test_scores_are_ranked_descending_with_ties_broken_by_id_descending():
    # trec_eval convention: equal scores -> docno descending
    assert rank({"a": 0.5, "c": 0.5, "b": 0.9, "d": 0.1}) == ["b", "c", "a", "d"]
    assert mrr({"a": 1.0, "b": 1.0}, {"a"}) == pytest.approx(0.5)
    assert mrr({"a": 1.0, "b": 1.0}, {"b"}) == 1.0


def test_retrieval_scores_keys_and_values():
    scores = retrieval_scores(["a", "x", "b"], {"a", "b"}, 2)
    assert scores == pytest.approx(
        {
            "hit@2": 1.0,
            "recall@2": 0.5,
            "precision@2": 0.5,
            "mrr": 1.0,
            "ndcg@2": 1 / (1 + 1 / math.log2(3)),
            "map": (1 + 2 / 3) / 2,
            "r_precision": 0.5,
        }
    )


def test_mean_metric_skips_none():
    assert mean_metric([1.0, None, 0.0, 0.5]) == pytest.approx(0.5)
    assert mean_metric([None, None]) is None
    assert mean_metric([]) is None
    with pytest.raises(ConfigError):
        mean_metric([float("nan")])


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: hit_rate("abc", {"a"}, 1), "string"),
        (lambda: hit_rate({"a", "b"}, {"a"}, 1), "set has no order"),
        (lambda: hit_rate(["a"], "a", 1), "string"),
        (lambda: hit_rate(["a"], {"a"}, 0), "positive integer"),
        (lambda: hit_rate(["a"], {"a"}, 1.5), "positive integer"),
        (lambda: hit_rate(["a"], {"a": "high"}, 1), "finite number"),
        (lambda: hit_rate({"a": None}, {"a"}, 1), "finite number"),
        (lambda: hit_rate([["a"]], {"a"}, 1), "not hashable"),
        (lambda: hit_rate(["a"], {"a"}, 1, empty="none"), "empty must be"),
        (lambda: ndcg_at_k(["a"], {"a"}, 1, gain="log"), "gain"),
        (lambda: hit_rate(42, {"a"}, 1), "got int"),
    ],
)
def test_bad_inputs_raise_config_error(call, fragment):
    with pytest.raises(ConfigError, match=fragment):
        call()


# -- assert_retrieval ---------------------------------------------------------------------------------


def test_assert_retrieval_records_every_metric_and_passes(recorder):
    scores = assert_retrieval(["a", "b", "c"], {"a", "c"}, k=3, min_recall=0.9, min_mrr=1.0)
    names = [m.name for m in recorder.metrics]
    assert names == ["hit@3", "recall@3", "precision@3", "mrr", "ndcg@3", "map", "r_precision"]
    by_name = {m.name: m for m in recorder.metrics}
    assert by_name["recall@3"].min == 0.9 and by_name["recall@3"].passed is True
    assert by_name["precision@3"].min is None and by_name["precision@3"].passed is None
    assert all(m.scorer == "retrieval" for m in recorder.metrics)
    details = by_name["mrr"].details
    assert details["k"] == 3 and details["empty_policy"] == "zero"
    assert details["retrieved_top_k"] == ["a", "b", "c"]
    assert sorted(details["relevant_ids"]) == ["a", "c"]
    assert scores["recall@3"] == 1.0


def test_assert_retrieval_lists_every_miss(recorder):
    with pytest.raises(AssertionError) as info:
        assert_retrieval(
            ["x", "y", "a", "z"], ["a", "b"], k=2, min_recall=0.5, min_precision=0.5, min_mrr=0.3, min_map=0.1
        )
    message = str(info.value)
    assert "recall@2=0 < 0.5" in message
    assert "precision@2=0 < 0.5" in message
    assert "map=0.1667" not in message  # map (1/3)/2 = 0.1667 >= 0.1 passes
    assert "mrr=0.3333" not in message  # 1/3 >= 0.3 passes
    assert "['x', 'y']" in message and "['a', 'b']" in message
    failed = {m.name for m in recorder.metrics if m.passed is False}
    assert failed == {"recall@2", "precision@2"}


def test_assert_retrieval_skip_policy_records_nothing_and_cannot_fail(recorder):
    scores = assert_retrieval(["a"], [], k=1, min_recall=1.0, empty="skip")
    assert all(value is None for value in scores.values())
    assert recorder.metrics == []


def test_assert_retrieval_works_outside_a_test_and_rejects_bad_threshold():
    assert assert_retrieval(["a"], ["a"], k=1, min_hit_rate=1)["hit@1"] == 1.0
    with pytest.raises(ConfigError, match="min_ndcg"):
        assert_retrieval(["a"], ["a"], min_ndcg="high")


# -- randomized cross-check against ranx ---------------------------------------------------------------
#
# Convention notes for an honest comparison:
# * ranx sorts a run with numpy's argsort reversed, so equal scores come out in an order of its own; we
#   hand it strictly decreasing scores (the ranking we test) so that both sides rank identically.  Our
#   tie-breaking (id descending, as trec_eval) is covered by the hand case above.
# * ranx counts a document as relevant when its grade >= rel_lvl (1); we count grade > 0.  Grades here are
#   integers 0..3, where both rules agree.
# * ranx returns 0 for a query whose qrels hold no relevant document; that is our default empty="zero".
# * ranx's "ndcg" is the Jarvelin (linear gain) form, "ndcg_burges" the exponential one.

K_VALUES = (1, 3, 5, 10)


def _random_cases(n: int, seed: int) -> list[tuple[list[str], dict[str, int]]]:
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        pool = [f"d{j}" for j in range(rng.randint(1, 30))]
        retrieved = rng.sample(pool, rng.randint(0, len(pool)))
        graded = i % 2 == 0
        judged = rng.sample(pool, rng.randint(1, len(pool)))
        relevant = {doc: (rng.randint(0, 3) if graded else 1) for doc in judged}
        if i % 25 == 0:  # now and then nothing relevant at all
            relevant = {doc: 0 for doc in judged}
        cases.append((retrieved, relevant))
    return cases


def test_matches_ranx_on_random_rankings():
    ranx = pytest.importorskip("ranx")
    cases = _random_cases(400, seed=20240531)
    # ranx skips a run query with no documents; give empty rankings a single junk document instead, which
    # is never relevant and therefore changes no metric on either side
    runs = {}
    qrels = {}
    for i, (retrieved, relevant) in enumerate(cases):
        ranking = retrieved or ["junk"]
        cases[i] = (ranking, relevant)
        runs[f"q{i}"] = {doc: float(len(ranking) - pos) for pos, doc in enumerate(ranking)}
        qrels[f"q{i}"] = dict(relevant)
    metric_names = []
    for k in K_VALUES:
        metric_names += [f"hit_rate@{k}", f"recall@{k}", f"precision@{k}", f"ndcg@{k}", f"ndcg_burges@{k}"]
    metric_names += ["mrr", "map", "r-precision", "mrr@3", "map@5"]
    run = ranx.Run(runs)
    with warnings.catch_warnings():
        # numba's "unsafe cast from uint64 to int64" inside ranx's hit_rate kernel is ranx's own noise
        warnings.simplefilter("ignore")
        ranx.evaluate(ranx.Qrels(qrels), run, metric_names, make_comparable=True)  # per-query: run.scores

    ours_by_metric = {
        "mrr": lambda r, g: mrr(r, g),
        "mrr@3": lambda r, g: mrr(r, g, k=3),
        "map": lambda r, g: average_precision(r, g),
        "map@5": lambda r, g: average_precision(r, g, k=5),
        "r-precision": lambda r, g: r_precision(r, g),
    }
    for k in K_VALUES:
        ours_by_metric[f"hit_rate@{k}"] = lambda r, g, k=k: hit_rate(r, g, k)
        ours_by_metric[f"recall@{k}"] = lambda r, g, k=k: recall_at_k(r, g, k)
        ours_by_metric[f"precision@{k}"] = lambda r, g, k=k: precision_at_k(r, g, k)
        ours_by_metric[f"ndcg@{k}"] = lambda r, g, k=k: ndcg_at_k(r, g, k)
        ours_by_metric[f"ndcg_burges@{k}"] = lambda r, g, k=k: ndcg_at_k(r, g, k, gain="exponential")

    compared = 0
    mismatches = []
    for name, ours in ours_by_metric.items():
        for i, (ranking, relevant) in enumerate(cases):
            their_value = run.scores[name][f"q{i}"]
            qid = f"q{i}"
            mine = ours(ranking, relevant)
            compared += 1
            if not math.isclose(mine, float(their_value), rel_tol=1e-9, abs_tol=1e-12):
                mismatches.append((name, qid, mine, float(their_value)))
    assert compared >= 300 * len(ours_by_metric)
    assert not mismatches, mismatches[:10]


def test_score_mapping_and_ranking_forms_agree_on_random_cases():
    rng = random.Random(7)
    for retrieved, relevant in _random_cases(100, seed=11):
        scores = {doc: rng.random() for doc in retrieved}
        ranking = sorted(scores, key=lambda doc: scores[doc], reverse=True)
        assert retrieval_scores(scores, relevant, 5) == retrieval_scores(ranking, relevant, 5)


def test_assert_retrieval_details_keep_int_ids_and_grades(recorder):
    assert_retrieval({7: 0.9, 3: 0.8, 5: 0.1}, {3: 2, 5: 1, 9: 0}, k=2, gain="exponential")
    details = recorder.metrics[0].details
    assert details["retrieved_top_k"] == [7, 3]
    assert details["relevant_ids"] == [3, 5]  # grade 0 is non-relevant
    assert details["grades"] == {"3": 2.0, "5": 1.0}
    assert details["gain"] == "exponential"
    ndcg = next(m for m in recorder.metrics if m.name == "ndcg@2")
    assert ndcg.value == pytest.approx((3 / math.log2(3)) / (3 + 1 / math.log2(3)))
