"""diff_records on hand-built records: each rule, its default and its switch.

Records come from ``pytest_llmops.review.synthetic`` and are validated like real ones.  Cost, token and
latency figures need model calls, which real runs here cannot make, so those rules are tested on built
records; the outcome, golden-set, sampled and prompt rules also run on real pytest runs in
``test_review_real.py``.
"""

from __future__ import annotations

import json

import pytest

from pytest_llmops.errors import ConfigError, ReportError
from pytest_llmops.review import synthetic as syn
from pytest_llmops.review.compare_goldens import _variant
from pytest_llmops.review.diff import DiffOptions, diff_records
from pytest_llmops.review.failon import failing_reasons, options_for_rules, parse_fail_on

GOLDEN = "goldens/faq.jsonl"


def _diff(base_tests, head_tests, options=None, **fields):
    base_fields = {k[5:]: v for k, v in fields.items() if k.startswith("base_")}
    head_fields = {k[5:]: v for k, v in fields.items() if k.startswith("head_")}
    return diff_records(syn.record(base_tests, **base_fields), syn.record(head_tests, **head_fields), options)


def kinds(result):
    return sorted((f.kind, f.subject) for f in result.regressions)


def test_outcomes_errors_added_removed() -> None:
    base = [syn.test("t.py::a"), syn.test("t.py::b"), syn.test("t.py::c", "error", message="503"),
            syn.test("t.py::gone"), syn.test("t.py::d", "failed"), syn.test("t.py::x", "xpassed")]
    head = [syn.test("t.py::a", "failed", message="assert 1 == 2"), syn.test("t.py::b", "error", message="budget spent",
            error_kind="budget"), syn.test("t.py::c", "failed"), syn.test("t.py::new", "error"),
            syn.test("t.py::d"), syn.test("t.py::x", "failed")]
    result = _diff(base, head)
    assert kinds(result) == [("outcome", "t.py::a"), ("outcome", "t.py::x")]
    assert result.regressions[0].detail == "assert 1 == 2"
    # errors: never regressions, listed with their kind, new tests included
    assert [(e.nodeid, e.error_kind, e.base_outcome) for e in result.errors] == [
        ("t.py::b", "budget", "passed"), ("t.py::new", "provider", None)]
    assert [c.nodeid for c in result.new_failures_base_errored] == ["t.py::c"]
    assert [f.subject for f in result.improvements] == ["t.py::d"]
    assert [c.nodeid for c in result.added] == ["t.py::new"]
    assert [(c.nodeid, c.base) for c in result.removed] == [("t.py::gone", "passed")]
    assert result.matched == 5
    assert result.headline() == "❌ 2 regressions"


def test_sampled_rate_significant_drop_versus_noise() -> None:
    base = [syn.test("t.py::s1", sampling=syn.sampling(19, 1)), syn.test("t.py::s2", sampling=syn.sampling(17, 3)),
            syn.test("t.py::s3", sampling=syn.sampling(10, 10)), syn.test("t.py::s4", sampling=syn.sampling(16, 4))]
    head = [syn.test("t.py::s1", "failed", sampling=syn.sampling(9, 11)),
            syn.test("t.py::s2", "failed", sampling=syn.sampling(15, 5)),  # verdict flipped, drop not significant
            syn.test("t.py::s3", sampling=syn.sampling(19, 1)),
            syn.test("t.py::s4", sampling=syn.sampling(15, 4, errors=1))]
    result = _diff(base, head)
    assert kinds(result) == [("sampled", "t.py::s1")]
    noise = {f.subject: f.detail for f in result.noise}
    assert set(noise) == {"t.py::s2", "t.py::s4"}
    assert "verdict flipped passed → failed" in noise["t.py::s2"]
    assert [f.subject for f in result.improvements] == ["t.py::s3"]
    strict = _diff(base, head, DiffOptions(sampled_flip_is_regression=True))
    assert ("outcome", "t.py::s2") in kinds(strict)


def test_sampled_error_is_not_compared() -> None:
    base = [syn.test("t.py::s", sampling=syn.sampling(20, 0))]
    head = [syn.test("t.py::s", "error", error_kind="sampling-errors", sampling=syn.sampling(2, 3, errors=15))]
    result = _diff(base, head)
    assert result.regressions == [] and [e.error_kind for e in result.errors] == ["sampling-errors"]


def test_cost_tokens_latency_including_replayed_calls() -> None:
    def tests(cost, tokens, latency, cached):
        return [syn.test(f"t.py::c{i}", calls=[syn.call(cost=cost, tokens=tokens, latency=latency, cached=cached)])
                for i in range(10)]

    # both runs replayed: deterministic, so each test's growth counts on its own (live: see test_growth_with_live_calls)
    base = tests(0.01, 1000, 1.0, cached=True)
    result = _diff(base, tests(0.013, 1300, 1.6, cached=True))  # replayed: recorded cost and latency count
    by_kind = {}
    for f in result.regressions:
        by_kind.setdefault(f.kind, []).append(f.subject)
    assert by_kind == {"cost": ["whole run", "10 test(s)"], "tokens": ["whole run", "10 test(s)"],
                       "latency": ["whole run"]}
    per_test = result.regressions[1]
    assert per_test.items[0] == "t.py::c0: $0.0100 → $0.0130 (+30.0%)" and len(per_test.items) == 10
    assert result.totals[4].delta == "+30.0%" and result.totals[6].delta == "+60.0%"

    mild = _diff(base, tests(0.011, 1100, 1.4, cached=True))  # +10% cost/tokens, +40% latency: within defaults
    assert mild.regressions == []
    rules = parse_fail_on("cost:5%,latency:30%")
    tight = _diff(base, tests(0.011, 1100, 1.4, cached=True), options_for_rules(rules, DiffOptions()))
    assert {f.kind for f in tight.regressions} == {"cost", "latency"}
    assert len(failing_reasons(rules, tight)) == 2
    whole_only = _diff(base, tests(0.013, 1300, 1.0, cached=True), DiffOptions(per_test_cost=False))
    assert [f.subject for f in whole_only.regressions] == ["whole run", "whole run"]


def test_tiny_per_test_growth_is_not_a_percentage_regression() -> None:
    base = [syn.test("t.py::a", calls=[syn.call(cost=0.0001, tokens=10, cached=True)])]
    head = [syn.test("t.py::a", calls=[syn.call(cost=0.0002, tokens=20, cached=True)])]
    result = _diff(base, head)
    assert [(f.kind, f.subject) for f in result.regressions] == [("cost", "whole run"), ("tokens", "whole run")]


def test_metric_threshold_and_tolerance_with_direction() -> None:
    base = [syn.test("t.py::a", metrics=[syn.metric("acc", 0.9, min=0.8), syn.metric("pii", 0, max=0)]),
            syn.test("t.py::b", metrics=[syn.metric("acc", 0.9, min=0.8)]),
            syn.test("t.py::c", metrics=[syn.metric("acc", 0.9, min=0.8)])]
    head = [syn.test("t.py::a", metrics=[syn.metric("acc", 0.7, min=0.8), syn.metric("pii", 2, max=0)]),
            syn.test("t.py::b", "failed", message="too low", metrics=[syn.metric("acc", 0.75, min=0.8)]),
            syn.test("t.py::c", metrics=[syn.metric("acc", 0.85, min=0.8)])]
    result = _diff(base, head)
    assert kinds(result) == [("metric-threshold", "t.py::a"), ("outcome", "t.py::b")]
    threshold = result.regressions[1]
    assert threshold.detail == "acc 0.9 → 0.7 < min 0.8; pii 0 → 2 > max 0"
    assert result.regressions[0].detail == "acc 0.9 → 0.75 < min 0.8 — too low"
    changes = {m.name: m for m in result.metric_changes}
    assert changes["pii"].higher_is_better is False and changes["acc"].higher_is_better is True
    assert changes["acc"].base_mean == pytest.approx(0.9) and changes["acc"].head_mean == pytest.approx(0.7666666)

    for rule, fails in (("metric:acc:0.2", False), ("metric:acc:0.1", True), ("metric:acc:15%", False),
                        ("metric:acc:10%", True), ("metric:pii:1", True), ("metric:pii:2.5", False)):
        rules = parse_fail_on(rule)
        tolerant = _diff(base, head, options_for_rules(rules, DiffOptions()))
        assert bool(failing_reasons(rules, tolerant)) is fails, rule
        assert any(f.kind == "metric-drop" for f in tolerant.regressions) is fails, rule


def test_fail_on_for_an_unrecorded_metric_warns() -> None:
    rules = parse_fail_on("metric:nope:0.1")
    result = _diff([syn.test("t.py::a")], [syn.test("t.py::a")], options_for_rules(rules, DiffOptions()))
    assert "fail-on metric 'nope': no matched test recorded it in both runs" in result.warnings


def test_fail_on_grammar_errors() -> None:
    assert [r.text() for r in parse_fail_on("regression, metric:ns:recall@5:5%, tokens:10%")] == [
        "regression", "metric:ns:recall@5:5%", "tokens:10%"]
    assert parse_fail_on(None) == parse_fail_on("none") == [parse_fail_on("none")[0]]
    for bad, words in (("metric:recall@5", "metric:NAME:TOLERANCE"), ("cost:10", "percentage"),
                       ("latency:fast%", "not a number"), ("speed:10%", "unknown rule"),
                       ("none,regression", "cannot be combined"), ("metric:x:-1", ">= 0")):
        with pytest.raises(ConfigError, match=words):
            parse_fail_on(bad)


def test_prompt_changes() -> None:
    def prompts(*refs):
        return [{"name": n, "version": v, "hash": h} for n, v, h in refs]

    base_tests = [syn.test("t.py::p", prompts=prompts(("support", "v2", "aaa111")))]
    head_tests = [syn.test("t.py::p", prompts=prompts(("support", "v2", "bbb222")))]
    result = _diff(base_tests, head_tests, base_prompts=prompts(("support", "v2", "aaa111"), ("old", "v1", "x")),
                   head_prompts=prompts(("support", "v2", "bbb222"), ("support", "v3", "ccc")))
    assert kinds(result) == [("prompt-edit", "support@v2")]
    assert "used by t.py::p" in result.regressions[0].detail
    assert [(f.kind, f.subject, f.detail) for f in result.prompt_changes] == [
        ("prompt-edit", "support@v2", result.regressions[0].detail),
        ("prompt-gone", "old@v1", "not used in head"),
        ("prompt-new", "support@v3", "new version"),
    ]
    info = _diff(base_tests, head_tests, DiffOptions(prompt_edit_is_regression=False))
    assert info.regressions == [] and [f.kind for f in info.prompt_changes] == ["prompt-edit"]


def _golden_tests(values, *, params_suffix="", outcome=lambda i: "passed", metric_names=("recall@5",)):
    tests = []
    for i, value in enumerate(values):
        case = f"reset-pw-{i}"
        params = f"{case}-{params_suffix}" if params_suffix else case
        tests.append(syn.test(f"t.py::test_answer[{params}]", outcome(i), golden=syn.golden(GOLDEN, case),
                              metrics=[syn.metric(name, value) for name in metric_names]))
    return tests


def test_variant_removes_only_the_case_id() -> None:
    assert _variant("reset-pw-1-support@v2", "reset-pw-1") == "support@v2"
    assert _variant("support@v2-reset-pw-1", "reset-pw-1") == "support@v2"
    assert _variant("a-reset-pw-1-b", "reset-pw-1") == "a-b"
    assert _variant("reset-pw-1", "reset-pw-1") == ""
    assert _variant("reset-pw-10", "reset-pw-1") == "reset-pw-10"
    assert _variant(None, "x") == ""


def test_golden_groups_pair_cases_per_variant() -> None:
    base = _golden_tests([0.9] * 8, params_suffix="support@v1") + _golden_tests([0.9] * 8, params_suffix="support@v2")
    head = _golden_tests([0.9] * 8, params_suffix="support@v1") + _golden_tests(
        [0.5] * 8, params_suffix="support@v2", outcome=lambda i: "failed" if i < 6 else "passed")
    result = _diff(base, head)
    groups = {g.key: g for g in result.golden_groups}
    v1, v2 = (f"t.py::test_answer[support@{v}] over {GOLDEN}" for v in ("v1", "v2"))
    assert set(groups) == {v1, v2}
    assert (groups[v2].pairs, groups[v2].worse, groups[v2].better) == (8, 6, 0)
    assert groups[v2].p_worse == pytest.approx(0.5**6)
    assert (groups[v1].worse, groups[v1].p_worse) == (0, 1.0)
    assert ("golden-passfail", v2) in kinds(result) and ("golden-metric", v2) in kinds(result)
    assert not any(f.subject == v1 for f in result.regressions)


def test_golden_metrics_are_holm_corrected() -> None:
    base = _golden_tests([0.9, 0.8, 0.7, 0.6, 0.5], metric_names=("recall@5", "mrr"))
    # every case a little worse on both metrics: raw Wilcoxon p = 1/32 each, Holm-adjusted 2/32 > 0.05
    head = _golden_tests([0.85, 0.75, 0.65, 0.55, 0.45], metric_names=("recall@5", "mrr"))
    result = _diff(base, head, DiffOptions(correction="holm"))
    group = result.golden_groups[0]
    assert [(m.name, m.p_worse) for m in group.metrics] == [("mrr", pytest.approx(1 / 32)),
                                                            ("recall@5", pytest.approx(1 / 32))]
    # issue 13: the whole diff is one family; with two comparisons that can reach at best p = 1/32, Tarone's
    # screen (level 0.05 / 2) leaves both out, so their adjusted p is 1 (Holm alone would give 2/32)
    assert [m.p_worse_holm for m in group.metrics] == [1.0, 1.0]
    assert result.regressions == []
    assert sorted(f.metric for f in result.noise) == ["mrr", "recall@5"]
    # the same drop on a single metric is significant without a correction to make
    single = _diff(_golden_tests([0.9, 0.8, 0.7, 0.6, 0.5]), _golden_tests([0.85, 0.75, 0.65, 0.55, 0.45]))
    assert [f.kind for f in single.regressions] == ["golden-metric"]


def test_aggregate_check_that_starts_failing() -> None:
    def agg(value, passed):
        return [{"name": "mean recall@5 over t.py::test_answer", "metric": "recall@5", "value": value, "min": 0.8,
                 "passed": passed, "count": 3}]

    result = _diff([syn.test("t.py::a")], [syn.test("t.py::a")], base_aggregates=agg(0.85, True),
                   head_aggregates=agg(0.7, False))
    assert kinds(result) == [("aggregate", "mean recall@5 over t.py::test_answer")]


def test_bad_and_unusual_records() -> None:
    dup = syn.record([syn.test("t.py::a"), syn.test("t.py::b"), syn.test("t.py::a")])
    with pytest.raises(ReportError, match=r"head: duplicate test id\(s\) in one record: t.py::a;"):
        diff_records(syn.record([syn.test("t.py::a")]), dup)
    empty = diff_records(syn.record([syn.test("t.py::a")]), syn.record([]))
    assert empty.headline() == "⚠ head record has no tests — ✅ no regressions"
    both_empty = diff_records(syn.record([]), syn.record([]))
    assert both_empty.headline() == "⚠ nothing to compare: both records have no tests"
    cut = diff_records(syn.record([syn.test("t.py::a"), syn.test("t.py::b")]),
                       syn.record([syn.test("t.py::a")], run=syn.run_info(interrupted=True)))
    assert cut.headline().startswith("⚠ head run was interrupted — partial comparison")
    assert "1 test(s) missing from it may not have run" in cut.warnings[0]
    with pytest.raises(ReportError, match=r"\$\.tests\[0\]\.outcome"):
        diff_records(syn.record([syn.test("t.py::a", "exploded")]), syn.record([]))
    with pytest.raises(ReportError, match="newer than this pytest-llmops understands"):
        diff_records({**syn.record([]), "schema_version": 2}, syn.record([]))


def test_same_inputs_give_the_same_result() -> None:
    base = _golden_tests([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]) + [syn.test(f"t.py::z{i}", "failed") for i in range(5)]
    head = _golden_tests([0.5, 0.8, 0.6, 0.6, 0.1, 0.4]) + [syn.test(f"t.py::z{i}") for i in range(5)]
    first = json.dumps(_diff(base, head).to_dict(), sort_keys=True)
    assert first == json.dumps(_diff(list(reversed(base)), list(reversed(head))).to_dict(), sort_keys=True)
