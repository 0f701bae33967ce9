"""The trajectory matcher (every order x argument mode, divergence messages, comparators), its properties
(hypothesis), the derivation of steps from recorded calls, golden-case validation, and pass@k / pass^k."""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops import approx, assert_trajectory, match_trajectory, regex, tool_call_scores
from pytest_llmops.assets.goldens.models import GoldenCase
from pytest_llmops.errors import ConfigError
from pytest_llmops.record.trajectory import derive_trajectory, exchanges_from
from pytest_llmops.sampling.passk import describe_pass_k, pass_at_k, pass_hat_k, pass_k_table
from pytest_llmops.scorers.trajectory import ORDERS, repeated_calls
from pytest_llmops.scorers.trajectory_values import ARG_MODES

SEARCH = {"tool": "search", "arguments": {"query": "reset password", "k": 3}}
OPEN = {"tool": "open_article", "arguments": {"id": "kb-02"}}
TICKET = {"tool": "create_ticket", "arguments": {"title": "help"}}
EXPECTED = [SEARCH, OPEN]

ACTUALS = {
    "same": [SEARCH, OPEN],
    "swapped": [OPEN, SEARCH],
    "extra_step": [SEARCH, OPEN, TICKET],
    "missing_step": [SEARCH],
    "extra_arg": [{"tool": "search", "arguments": {"query": "reset password", "k": 3, "lang": "en"}}, OPEN],
    "fewer_args": [{"tool": "search", "arguments": {"query": "reset password"}}, OPEN],
    "other_value": [{"tool": "search", "arguments": {"query": "reset password", "k": 5}}, OPEN],
}
#: does each actual trajectory match EXPECTED, per order (args="exact") ...
ORDER_TRUTH = {
    "strict": {"same": True, "swapped": False, "extra_step": False, "missing_step": False},
    "unordered": {"same": True, "swapped": True, "extra_step": False, "missing_step": False},
    "subset": {"same": True, "swapped": True, "extra_step": False, "missing_step": True},
    "superset": {"same": True, "swapped": True, "extra_step": True, "missing_step": False},
}
#: ... and per argument mode (in the expected order)
ARGS_TRUTH = {
    "exact": {"same": True, "extra_arg": False, "fewer_args": False, "other_value": False},
    "ignore": {"same": True, "extra_arg": True, "fewer_args": True, "other_value": True},
    "subset": {"same": True, "extra_arg": False, "fewer_args": True, "other_value": False},
    "superset": {"same": True, "extra_arg": True, "fewer_args": False, "other_value": False},
}
TABLE = [(order, args, name, ORDER_TRUTH[order][name] and ARGS_TRUTH[args].get("same"))
         for order in ORDERS for args in ARG_MODES for name in ORDER_TRUTH[order]]
TABLE += [(order, args, name, ARGS_TRUTH[args][name]) for order in ORDERS for args in ARG_MODES
          for name in ARGS_TRUTH[args] if name != "same"]


@pytest.mark.parametrize(("order", "args", "actual", "ok"), TABLE, ids=[f"{o}-{a}-{n}" for o, a, n, _ in TABLE])
def test_matcher_table(order, args, actual, ok):
    assert match_trajectory(ACTUALS[actual], EXPECTED, order=order, args=args).ok is ok


@pytest.mark.parametrize(("order", "actual", "index", "words"), [
    ("strict", "swapped", 0, "expected search(query='reset password', k=3), got open_article(id='kb-02')"),
    ("strict", "extra_step", 2, "unexpected extra step create_ticket(title='help') (expected 2 steps)"),
    ("strict", "missing_step", 1, "expected open_article(id='kb-02'), the actual trajectory ended after 1 steps"),
    ("unordered", "extra_step", 2, "actual step create_ticket(title='help') is not an expected one"),
    ("unordered", "missing_step", 1, "expected step open_article(id='kb-02') was not taken; no step calls"),
    ("superset", "other_value", 0, "was not taken; closest search(query='reset password', k=5): k: expected 3, got 5"),
    ("subset", "extra_step", 2, "actual step create_ticket(title='help') is not an expected one"),
    ("strict", "extra_arg", 0, "unexpected argument 'lang'='en'"),
    ("strict", "fewer_args", 0, "missing argument 'k' (expected 3)"),
])
def test_divergence_message_names_the_first_divergent_step_and_shows_both_sides(order, actual, index, words):
    with pytest.raises(AssertionError) as info:
        assert_trajectory(ACTUALS[actual], EXPECTED, order=order)
    text = str(info.value)
    assert f"first divergence at step {index}: " in text and words in text
    assert "  expected (2 steps):" in text and f"  actual ({len(ACTUALS[actual])} steps):" in text
    assert "✗" in text


def test_per_tool_overrides_and_comparators():
    actual = [{"tool": "search", "arguments": {"query": "How do I reset my password?", "k": 3, "lang": "en"}},
              {"tool": "set_limit", "arguments": {"value": 10.04}}]
    expected = [{"tool": "search", "args": {"query": regex("(?i)reset.*password")}},
                {"tool": "set_limit", "args": {"value": approx(10, abs=0.1)}}]
    assert not match_trajectory(actual, expected).ok
    assert match_trajectory(actual, expected, per_tool={"search": "superset"}).ok
    assert match_trajectory(actual, expected, per_tool={"search": {"args": "ignore"}}).ok
    json_spelling = [{"tool": "search", "args": {"query": {"$regex": "password"}}},
                     {"tool": "set_limit", "args": {"value": {"$approx": 10, "abs": 0.01}}}]
    result = match_trajectory(actual, json_spelling, args="superset")
    assert not result.ok and "value: expected 10 ± 0.01, got 10.04" in result.reason
    assert match_trajectory(actual, ["search", "set_limit"]).ok  # bare names: arguments not compared
    with pytest.raises(ConfigError, match="order='sometimes'"):
        match_trajectory(actual, expected, order="sometimes")
    with pytest.raises(ConfigError, match="args mode 'fuzzy'"):
        match_trajectory(actual, expected, per_tool={"search": "fuzzy"})


def test_metrics_precision_recall_f1_loops_and_max_steps(recorder):
    actual = [SEARCH, SEARCH, SEARCH, OPEN]
    assert tool_call_scores(actual, [SEARCH, OPEN, TICKET]) == pytest.approx(
        {"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7})
    assert repeated_calls(actual) == 2
    with pytest.raises(AssertionError, match="took 4 steps, more than max_steps=3"):
        assert_trajectory(actual, [SEARCH, OPEN], order="superset", max_steps=3)
    values = {m.name: m for m in recorder.metrics}
    assert values["trajectory_steps"].value == 4 and values["trajectory_steps"].passed is False
    assert values["repeated_tool_calls"].value == 2 and values["tool_call_recall"].value == 1.0
    assert values["tool_call_precision"].value == 0.5 and values["trajectory_match"].value == 1.0
    assert tool_call_scores([], []) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert tool_call_scores([], [SEARCH])["f1"] == 0.0


steps = st.lists(st.builds(lambda tool, args: {"tool": tool, "arguments": args},
                           st.sampled_from(["a", "b", "c"]),
                           st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 1), max_size=2)), max_size=4)
DUAL = {"subset": "superset", "superset": "subset", "strict": "strict", "unordered": "unordered",
        "exact": "exact", "ignore": "ignore"}


@settings(max_examples=300, deadline=None)
@given(steps, steps, st.sampled_from(ARG_MODES))
def test_strict_implies_unordered_implies_subset_and_superset(actual, expected, args):
    result = {order: match_trajectory(actual, expected, order=order, args=args).ok for order in ORDERS}
    if result["strict"]:
        assert result["unordered"]
    assert result["unordered"] == (result["subset"] and result["superset"])


@settings(max_examples=300, deadline=None)
@given(steps, steps, st.sampled_from(ORDERS), st.sampled_from(ARG_MODES))
def test_subset_superset_duality(actual, expected, order, args):
    forward = match_trajectory(actual, expected, order=order, args=args).ok
    assert forward == match_trajectory(expected, actual, order=DUAL[order], args=DUAL[args]).ok


@settings(max_examples=200, deadline=None)
@given(steps)
def test_a_trajectory_matches_itself_in_every_mode(actual):
    assert all(match_trajectory(actual, actual, order=o, args=a).ok for o in ORDERS for a in ARG_MODES)


def _tool_call(call_id, name, arguments):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _answer(message):
    return {"choices": [{"message": {"role": "assistant", **message}}]}


def test_derivation_from_chat_calls_with_results_and_reused_ids():
    user = {"role": "user", "content": "reset"}
    call = _tool_call("call_0", "search", '{"query": "reset"}')
    exchanges = [
        {"call": 0, "key": "k0", "sample": 0, "request": [user], "response": _answer({"tool_calls": [call]})},
        {"call": 1, "key": "k1", "sample": 0,
         "request": [user, {"role": "assistant", "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": "call_0", "content": "hits"}],
         "response": _answer({"content": "done"})},
        {"call": 2, "key": "k2", "sample": 0, "request": [{"role": "user", "content": "again"}],
         "response": _answer({"tool_calls": [_tool_call("call_0", "search", "not json")]})},
    ]
    got = derive_trajectory(exchanges)
    assert [(s["index"], s["tool"], s["arguments"], s["result"], s["call"]) for s in got] == [
        (0, "search", {"query": "reset"}, "hits", 0), (1, "search", "not json", None, 2)]


def test_derivation_of_history_written_tool_calls_anthropic_and_responses_shapes():
    json_mode = [  # the app asked for the tool choice as JSON and wrote it back as a tool call in the history
        {"call": 0, "sample": 0, "request": [{"role": "user", "content": "q"}],
         "response": _answer({"content": '{"tool": "search"}'})},
        {"call": 1, "sample": 0, "request": [{"role": "user", "content": "q"},
                                             {"role": "assistant", "content": None,
                                              "tool_calls": [_tool_call("t1", "search", {"q": "x"})]},
                                             {"role": "tool", "tool_call_id": "t1", "content": [{"text": "r"}]}],
         "response": _answer({"content": "final"})},
    ]
    assert [(s["tool"], s["arguments"], s["result"], s["call"]) for s in derive_trajectory(json_mode)] == [
        ("search", {"q": "x"}, "r", 0)]
    anthropic = [{"call": 0, "sample": 0, "request": {"messages": [{"role": "user", "content": "q"}]},
                  "response": {"type": "message", "content": [{"type": "tool_use", "id": "tu1", "name": "lookup",
                                                               "input": {"a": 1}}]}},
                 {"call": 1, "sample": 0, "request": {"messages": [
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "ok"}]}]},
                  "response": {"type": "message", "content": [{"type": "text", "text": "bye"}]}}]
    assert [(s["tool"], s["arguments"], s["result"]) for s in derive_trajectory(anthropic)] == [
        ("lookup", {"a": 1}, "ok")]
    responses = [{"call": 0, "sample": 1, "request": {"input": "q"}, "response": {"output": [
        {"type": "function_call", "call_id": "fc1", "name": "weather", "arguments": '{"city": "Oslo"}'}]}},
                 {"call": 1, "sample": 1, "request": {"input": [
                     {"type": "function_call_output", "call_id": "fc1", "output": "rain"}]}, "response": {}}]
    assert [(s["tool"], s["arguments"], s["result"], s["sample"]) for s in derive_trajectory(responses)] == [
        ("weather", {"city": "Oslo"}, "rain", 1)]


def test_exchanges_pair_metered_calls_with_recordings_by_key_prefix():
    entries = {"abcdef0123456789": {"request": {"messages": []}, "response": {}}}
    calls = [{"kind": "completion", "key": "abcdef012345", "sample": 0, "turn": 2},
             {"kind": "embedding", "key": "abcdef012345"}, {"kind": "completion", "key": "000000000000"},
             {"kind": "completion", "key": "abcdef012345", "error": {"kind": "rate_limit"}}]
    assert exchanges_from(calls, entries) == [{"call": 0, "key": "abcdef012345", "sample": 0, "turn": 2,
                                               "request": {"messages": []}, "response": {}}]


def test_golden_cases_validate_expected_trajectory_and_turns():
    case = GoldenCase.model_validate({"id": "c", "turns": ["hi", {"user": "open kb-02", "must_include": ["kb-02"],
                                                                  "expected_trajectory": ["open_article"]}]})
    assert case.input == "hi" and case.turns[0] == {"user": "hi"}
    bad = [
        ({"expected_trajectory": "search"}, "must be a list of steps"),
        ({"expected_trajectory": [{"tool": ""}]}, "step [0] needs 'tool'"),
        ({"expected_trajectory": [{"tool": "s", "why": 1}]}, "unknown key 'why'"),
        ({"expected_trajectory": [{"tool": "s", "args": {"q": {"$regex": "("}}}]}, "not a valid regular expression"),
        ({"turns": []}, "non-empty list of turns"),
        ({"turns": [{"user": " "}]}, "turn [0] needs 'user'"),
        ({"turns": [{"user": "x", "must_include": "kb"}]}, "'must_include' must be a list of strings"),
        ({"turns": [{"user": "x", "expected_trajectory": [3]}]}, "turn [0] expected_trajectory step [0] must be"),
    ]
    for fields, words in bad:
        with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("(", r"\(").replace("$", r"\$")):
            GoldenCase.model_validate({"id": "c", "input": "x", **fields})


def _enumerated(n: int, c: int, k: int) -> tuple[Fraction, Fraction]:
    """Exact pass@k / pass^k by enumerating every k-subset of n outcomes with c passes."""
    outcomes = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    any_pass = sum(any(outcomes[i] for i in s) for s in subsets)
    all_pass = sum(all(outcomes[i] for i in s) for s in subsets)
    return Fraction(any_pass, len(subsets)), Fraction(all_pass, len(subsets))


SMALL = [(n, c, k) for n in range(1, 7) for c in range(n + 1) for k in range(1, n + 1)]


@pytest.mark.parametrize(("n", "c", "k"), SMALL)
def test_pass_at_k_and_pass_hat_k_equal_the_exact_values(n, c, k):
    at, hat = _enumerated(n, c, k)
    assert pass_at_k(n, c, k) == pytest.approx(float(at), abs=1e-12)
    assert pass_hat_k(n, c, k) == pytest.approx(float(hat), abs=1e-12)


def test_pass_k_small_cases_table_and_limits():
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7) and pass_hat_k(5, 2, 2) == pytest.approx(0.1)
    assert pass_at_k(10, 7, 1) == pass_hat_k(10, 7, 1) == pytest.approx(0.7)
    assert pass_at_k(3, 1, 4) is None and pass_hat_k(3, 1, 4) is None
    table = pass_k_table(4, 3)
    assert table["pass_at_k"] == {"1": 0.75, "2": 1.0, "3": 1.0, "4": 1.0}
    assert table["pass_hat_k"]["2"] == comb(3, 2) / comb(4, 2)
    assert describe_pass_k(table) == "pass@3=1.00 pass^3=0.25"
    assert pass_k_table(0, 0) == {"n": 0, "c": 0, "pass_at_k": {}, "pass_hat_k": {}}
    for bad in ((3, 4, 1), (3, 1, 0), (-1, 0, 1)):
        with pytest.raises(ConfigError):
            pass_at_k(*bad)
