"""Issue 16: auditing the judge against human labels, judge-corrected pass rates, re-judging recordings."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from inner_runs import configure, model_requests, run
from sklearn.metrics import cohen_kappa_score

from pytest_llmops.assets.labels import load_labels, parse_labels
from pytest_llmops.calls.engine import load_litellm
from pytest_llmops.errors import GoldenError
from pytest_llmops.scorers.judge.agreement import agreement, batched_kappa, krippendorff_alpha, pairwise_kappa
from pytest_llmops.scorers.judge.audit import AuditSettings, ItemVerdict, summarize
from pytest_llmops.scorers.judge.bias import position_flips, retest, verbosity
from pytest_llmops.scorers.judge.correction import corrected_pass_rate, sensitivity_specificity, wilson
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("litellm")
load_litellm()

FENCE = re.compile(r"<<<OUTPUT-([0-9a-f]+)>>>\n(.*)\n<<<END-OUTPUT-\1>>>", re.DOTALL)
PAIR = re.compile(r"<<<RESPONSE-1-(\w+)>>>\n(.*?)\n<<<END-RESPONSE-1-\1>>>", re.DOTALL)

# -- agreement: kappa against scikit-learn and hand-computed values -------------------------------------------


def test_kappa_matches_a_hand_computed_two_by_two_table():
    # humans pass 2 of 4, the judge 1 of 4; they agree on 3: po = 0.75, pe = 0.5*0.25 + 0.5*0.75 = 0.5
    result = agreement([True, True, False, False], [True, False, False, False], [False, True], n_resamples=200)
    assert result.kappa == pytest.approx(0.5) and result.raw_agreement == 0.75
    assert result.confusion == [[2, 0], [1, 1]]  # rows: humans (fail, pass); columns: judge


def test_quadratic_kappa_matches_a_hand_computed_value():
    # human 1,2,3 vs judge 1,3,3 on a 1..3 scale, weights (i-j)^2: observed sum w*p = 1/3; humans' marginals
    # 1/3 each, the judge's (1/3, 0, 2/3): expected sum w*r*c = 1/3 * (8/3 + 1 + 4/3) = 5/3; kappa = 1 - 1/5
    result = agreement([1, 2, 3], [1, 3, 3], [1, 2, 3], weights="quadratic", n_resamples=200)
    assert result.kappa == pytest.approx(1 - (1 / 3) / (5 / 3)) == pytest.approx(0.8)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_equals_scikit_learn_on_random_tables(weights):
    rng = np.random.default_rng(7)
    for _ in range(40):
        human = rng.integers(0, 5, 25)
        judge = np.clip(human + rng.integers(-2, 3, 25), 0, 4)
        expected = cohen_kappa_score(human, judge, labels=list(range(5)), weights=weights)
        assert agreement(list(human), list(judge), list(range(5)), weights=weights, n_resamples=100).kappa == \
            pytest.approx(expected)
        assert float(batched_kappa(human, judge, 5, weights)) == pytest.approx(expected)  # the bootstrap's statistic


def test_bootstrap_interval_is_seeded_reproducible_and_brackets_kappa():
    human = [1, 2, 3, 4, 5] * 8
    judge = [1, 2, 4, 4, 5, 2, 2, 3, 5, 5] * 4
    first = agreement(human, judge, [1, 2, 3, 4, 5], weights="quadratic", seed=3)
    again = agreement(human, judge, [1, 2, 3, 4, 5], weights="quadratic", seed=3)
    other = agreement(human, judge, [1, 2, 3, 4, 5], weights="quadratic", seed=4)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low < first.kappa < first.ci_high <= 1.0


def test_krippendorff_and_pairwise_kappa_of_several_labellers():
    units = [{"ana": 1, "ben": 1}, {"ana": 3, "ben": 3}, {"ana": 5, "ben": 5}, {"ana": 2}]
    assert krippendorff_alpha(units, [1, 2, 3, 4, 5], "ordinal") == pytest.approx(1.0)
    assert pairwise_kappa(units, [1, 2, 3, 4, 5], "quadratic") == pytest.approx(1.0)
    noisy = [{"ana": 1, "ben": 5}, {"ana": 5, "ben": 1}, {"ana": 3, "ben": 3}]
    assert krippendorff_alpha(noisy, [1, 2, 3, 4, 5], "ordinal") < 0
    assert krippendorff_alpha([{"ana": 1}, {"ana": 2}], [1, 2], "nominal") is None  # one labeller: no ceiling


# -- bias probes and Rogan-Gladen ------------------------------------------------------------------------------


def test_position_flips_verbosity_and_retest():
    biased = position_flips([("a", "b"), ("a", "b"), ("a", "a"), ("b", "b")])
    assert biased == {"pairs": 4, "flip_rate": 0.5, "first_position_rate": 0.75}
    lengths = [10, 20, 30, 40, 50]
    assert verbosity(lengths, [1, 2, 3, 4, 5], [3, 3, 2, 3, 3])["judge_rho"] == pytest.approx(1.0)
    assert retest([[3, 3], [4, 2], [5, 5], [1, 1]], [1, 2, 3, 4, 5])["exact"] == 0.75


def test_rogan_gladen_correction_and_its_wider_interval():
    counts = sensitivity_specificity([True] * 10 + [False] * 10, [True] * 9 + [False] + [True] * 2 + [False] * 8)
    assert counts == {"human_pass": 10, "judge_pass_of_human_pass": 9, "human_fail": 10, "judge_fail_of_human_fail": 8}
    rate = corrected_pass_rate(60, 100, counts)
    assert rate["sensitivity"] == 0.9 and rate["specificity"] == 0.8
    assert rate["corrected"] == pytest.approx((0.6 + 0.8 - 1) / (0.9 + 0.8 - 1), abs=1e-4)
    observed_width = np.subtract(*reversed(wilson(60, 100)))
    assert rate["corrected_ci"][1] - rate["corrected_ci"][0] > observed_width  # the audit's uncertainty widens it
    chance = corrected_pass_rate(60, 100, {"human_pass": 10, "judge_pass_of_human_pass": 5, "human_fail": 10,
                                           "judge_fail_of_human_fail": 5})
    assert chance["corrected"] is None and "no better than chance" in chance["reason"]


def test_summarize_gates_on_the_lower_bound_of_the_interval():
    items = [_Item(f"i{k}", {"ana": k % 5 + 1}) for k in range(30)]
    agreeing = [ItemVerdict(i.id, i.consensus(), i.labels, judge=i.consensus(), score=float(i.consensus()),
                            repeats=[i.consensus()], length=10) for i in items]
    good = summarize("c", "score", (1, 5), items, agreeing, AuditSettings(min_kappa=0.6, n_resamples=300))
    assert good.passed and good.kappa == 1.0 and good.to_dict()["agreement"]["kappa_ci"] == [1.0, 1.0]
    rng = np.random.default_rng(0)
    noisy = [ItemVerdict(v.id, v.human, v.humans, judge=int(rng.integers(1, 6)), score=1.0, repeats=[1], length=1)
             for v in agreeing]
    bad = summarize("c", "score", (1, 5), items, noisy, AuditSettings(min_kappa=0.6, n_resamples=300))
    assert not bad.passed and bad.ci_low < 0.6


class _Item:
    kind, scale = "score", (1, 5)

    def __init__(self, item_id, labels):
        self.id, self.labels = item_id, labels

    def consensus(self):
        return sorted(self.labels.values())[(len(self.labels) - 1) // 2]


# -- label files -------------------------------------------------------------------------------------------------


def test_label_files_in_three_formats_and_label_forms(tmp_path):
    (tmp_path / "l.jsonl").write_text(
        '{"id": "s1", "criterion": "polite", "output": "Hi", "label": 4, "labeller": "ana"}\n'
        '{"id": "s2", "criterion": "polite", "output": "Yo", "labels": {"ana": 2, "ben": 3}}\n'
        '{"id": "p1", "criterion": "better", "a": "x", "b": "y", "labels": ["a", "tie", "a"]}\n'
        '{"id": "f1", "criterion": "safe", "output": "ok", "label": "pass"}\n', encoding="utf-8")
    (tmp_path / "l.yaml").write_text("items:\n  - id: y1\n    criterion: c\n    output: hello\n    label: 3\n"
                                     "    context: [a, b]\n", encoding="utf-8")
    (tmp_path / "l.csv").write_text('id,criterion,output,label.ana,label.ben,scale\nc1,c,"two\nlines",3,4,1-5\n',
                                    encoding="utf-8")
    jsonl = load_labels(tmp_path / "l.jsonl")
    assert [i.kind for i in jsonl.items] == ["score", "score", "preference", "pass_fail"]
    assert jsonl.items[1].consensus() == 2 and jsonl.items[2].consensus() == "a" and jsonl.items[3].labels == {
        "labeller": True}
    assert jsonl.labellers() == ["ana", "ben", "labeller", "labeller-1", "labeller-2", "labeller-3"]
    assert load_labels(tmp_path / "l.yaml").items[0].contexts == ["a", "b"]
    csv_item = load_labels(tmp_path / "l.csv").items[0]
    assert csv_item.labels == {"ana": 3, "ben": 4} and csv_item.output == "two\nlines"
    assert [i.id for i in jsonl.select("polite")["polite"]] == ["s1", "s2"]
    with pytest.raises(GoldenError, match="no items for criterion 'nope'"):
        jsonl.select("nope")
    with pytest.raises(GoldenError, match=r"no items for criterion 'polite' with tags \['ci'\]"):
        jsonl.select("polite", tags="ci")


def test_label_file_problems_are_reported_together_with_file_and_line(tmp_path):
    text = ('{"id": "a1", "criterion": "c", "output": "x", "label": 9}\n'
            '\n'
            '{"id": "a2", "criterion": "c", "a": "x", "label": "a"}\n'
            '{"id": "a3", "criterion": "c", "output": "x", "label": 3, "typo": 1}\n'
            '{"id": "a3", "criterion": "c", "output": "x", "labels": [1, true]}\n'
            '{"id": "a5", "criterion": "c", "output": "x", "label": 3\n')
    with pytest.raises(GoldenError) as info:
        parse_labels(text, Path("labels.jsonl"), "jsonl")
    message = str(info.value)
    assert "labels.jsonl:1: score 9 is off the scale 1-5" in message
    assert "labels.jsonl:3: " in message and "needs the two outputs 'a' and 'b'" in message
    assert "labels.jsonl:4: unknown field 'typo'" in message
    assert "labels.jsonl:5: " in message and "mixes label kinds" in message
    assert "labels.jsonl:6: invalid JSON" in message
    yaml_text = ("- id: y1\n  criterion: c\n  output: x\n  label: 3\n"
                 "- id: y2\n  criterion: ''\n  output: x\n  label: 1\n")
    with pytest.raises(GoldenError, match=r"labels.yaml:6: field 'criterion'"):
        parse_labels(yaml_text, Path("labels.yaml"), "yaml")
    with pytest.raises(GoldenError, match=r"labels.csv:1: unknown column 'grade'"):
        parse_labels("id,criterion,output,grade\nx,c,o,3\n", Path("labels.csv"), "csv")


# -- through pytest: a scripted judge on the loopback server -------------------------------------------------------

CRITERION = "States the refund window correctly."
PREFERENCE = "The more accurate answer."


def _label_rows() -> list[dict]:
    rows = [{"id": f"s{i}", "criterion": CRITERION, "output": f"answer {i} QUALITY={i % 5 + 1}",
             "labels": {"ana": i % 5 + 1, "ben": min(5, i % 5 + 1 + (i % 7 == 0))}} for i in range(40)]
    rows += [{"id": f"p{i}", "criterion": PREFERENCE, "a": f"pair {i} GOOD" if i % 2 else f"pair {i} weak",
              "b": f"pair {i} weak" if i % 2 else f"pair {i} GOOD", "label": "a" if i % 2 else "b"} for i in range(12)]
    return rows


def quality(body: dict) -> int | None:
    match = FENCE.search(body["messages"][1]["content"])
    found = re.search(r"QUALITY=(\d)", match.group(2)) if match else None
    return int(found.group(1)) if found else None


def agreeing_judge(body: dict) -> dict:
    text = body["messages"][1]["content"]
    if "<<<RESPONSE-1-" in text:
        first = PAIR.search(text).group(2)
        return {"reasoning": "picks GOOD", "winner": "first" if "GOOD" in first else "second"}
    return {"reasoning": "reads the quality", "score": quality(body) or 3}


def random_judge(body: dict) -> dict:
    text = body["messages"][1]["content"]
    digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    if "<<<RESPONSE-1-" in text:
        return {"reasoning": "coin", "winner": ("first", "second")[digest % 2]}
    return {"reasoning": "dice", "score": digest % 5 + 1}


def first_position_judge(body: dict) -> dict:
    if "<<<RESPONSE-1-" in body["messages"][1]["content"]:
        return {"reasoning": "the first one", "winner": "first"}
    return agreeing_judge(body)


AUDIT_TEST = """
    import pytest

    @pytest.mark.judge_audit("labels.jsonl", min_kappa=0.6, n_resamples=500, retest=2)
    def test_judge_is_trustworthy(judge):
        pass

    def test_app_answer(judge):
        judge.check("answer QUALITY=4", criteria="States the refund window correctly.", min_score=3)
"""


def _audit_project(pytester: pytest.Pytester, server: LoopbackServer) -> None:
    configure(pytester, server.base_url)
    pytester.path.joinpath("labels.jsonl").write_text("\n".join(json.dumps(r) for r in _label_rows()) + "\n",
                                                      encoding="utf-8")
    pytester.makepyfile(test_audit=textwrap.dedent(AUDIT_TEST))


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with LoopbackServer() as server:
        yield server


def test_agreeing_judge_passes_the_gate_and_tags_every_verdict(pytester, scripted):
    scripted.responder = agreeing_judge
    _audit_project(pytester, scripted)
    result, record = run(pytester, "--llmops-record-mode=off")
    result.assert_outcomes(passed=2)
    [audit] = [t for t in record["tests"] if t.get("judge_audit")]
    by_criterion = {r["criterion"]: r for r in audit["judge_audit"]["results"]}
    score = by_criterion[CRITERION]
    assert score["passed"] and score["agreement"]["kappa"] == 1.0 and score["agreement"]["weights"] == "quadratic"
    assert score["humans"]["labellers"] == ["ana", "ben"] and score["humans"]["alpha"] < 1.0
    assert score["bias"]["retest"]["exact"] == 1.0 and score["bias"]["retest"]["items"] == 40
    assert by_criterion[PREFERENCE]["bias"]["position"]["flip_rate"] == 0.0
    assert {a["criterion"] for a in record["judge_audits"]} == {CRITERION, PREFERENCE}
    verdicts = [m for t in record["tests"] for m in t["metrics"] if m["name"].startswith("judge:")]
    assert verdicts and all(m["details"]["audit"]["passed"] is True for m in verdicts)
    [rate] = record["judge_pass_rates"]
    assert rate["verdicts"] == 1 and rate["passed"] == 1 and rate["sensitivity"] == 1.0
    assert rate["corrected"] is not None and rate["corrected_ci"][0] < rate["observed_ci"][0] + 1e-9
    calls = [c for t in record["tests"] for c in t["calls"]]
    assert len(calls) == len(model_requests(scripted)) == 40 * 2 + 12 * 2 + 1  # metered, every call live


def test_random_judge_fails_the_gate_with_the_figures(pytester, scripted):
    scripted.responder = random_judge
    _audit_project(pytester, scripted)
    result, record = run(pytester, "--llmops-record-mode=off")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*judge audit: the lower bound of kappa's 95% interval is below min_kappa 0.6*",
                                 "*criterion*kappa*95% CI*"])
    [audit] = record["judge_audits"][:1]
    assert audit["passed"] is False and audit["agreement"]["kappa_ci"][0] < 0.6
    metrics = {m["name"]: m for t in record["tests"] for m in t["metrics"]}
    assert metrics["judge_kappa_low:states-the-refund-window-correctly"]["passed"] is False


def test_position_biased_judge_shows_a_high_flip_rate_and_replays_offline(pytester, scripted):
    scripted.responder = first_position_judge
    _audit_project(pytester, scripted)
    first, record = run(pytester, "--llmops-record-mode=once")
    position = {r["criterion"]: r for r in record["judge_audits"]}[PREFERENCE]["bias"]["position"]
    assert position == {"pairs": 12, "flip_rate": 1.0, "first_position_rate": 1.0}
    live = len(model_requests(scripted))
    again, replayed = run(pytester, "--llmops-record-mode=none")
    assert len(model_requests(scripted)) == live  # the audit replays from its recording
    assert replayed["judge_audits"] == record["judge_audits"]
    assert first.ret == again.ret


# -- re-judge: the app's calls replay, the judge's go live -------------------------------------------------------

APP_TESTS = """
    import litellm

    def app(question):
        reply = litellm.completion(model="openai/loopback-model", api_base="{base}", api_key="sk-test",
                                   messages=[{{"role": "user", "content": question}}])
        return reply.choices[0].message.content

    def test_answer_quality(judge):
        answer = app("APP: what is the refund window?")
        judge.check(answer, criteria="States the refund window correctly.", min_score=3)
"""


def app_and_judge(judge_score: int):
    def respond(body: dict):
        content = body["messages"][-1]["content"]
        if content.startswith("APP:"):
            return "Refunds within 30 days. QUALITY=4"
        return {"reasoning": "scripted", "score": judge_score}
    return respond


def test_rejudge_changes_only_judge_verdicts_and_sends_no_app_request(pytester, scripted):
    configure(pytester, scripted.base_url, extra=("llmops_prices =", "    openai/loopback-model = 1 2",
                                                  "    openai/other-judge = 1 2"), prices=False)
    pytester.makepyfile(test_app=textwrap.dedent(APP_TESTS).format(base=scripted.base_url))
    scripted.responder = app_and_judge(5)
    result, recorded = run(pytester, "--llmops-record-mode=once")
    result.assert_outcomes(passed=1)
    cassettes = {p: p.read_bytes() for p in pytester.path.rglob("recordings/**/*.json")}
    assert cassettes
    scripted.apply_control({"clear_requests": True})
    scripted.responder = app_and_judge(1)
    result, rejudged = run(pytester, "--llmops-record-mode=none", "--llmops-rejudge",
                           "--llmops-judge-model=openai/other-judge")
    result.assert_outcomes(failed=1)  # the stricter judge fails the same recorded answer
    requests = model_requests(scripted)
    assert requests and all(not r["messages"][-1]["content"].startswith("APP:") for r in requests)
    assert {r["model"] for r in requests} == {"other-judge"}
    assert {p: p.read_bytes() for p in pytester.path.rglob("recordings/**/*.json")} == cassettes
    [test] = rejudged["tests"]
    app_calls = [c for c in test["calls"] if c["source"] == "captured"]
    judge_calls = [c for c in test["calls"] if c["source"] == "fixture"]
    assert app_calls and all(c["cached"] for c in app_calls)
    assert judge_calls and not any(c["cached"] for c in judge_calls)
    [metric] = [m for m in test["metrics"] if m["name"].startswith("judge:")]
    [before] = [m for m in recorded["tests"][0]["metrics"] if m["name"].startswith("judge:")]
    assert before["passed"] is True and metric["passed"] is False
    assert metric["details"]["rejudged"] == {"judge_model": "openai/other-judge"}
    assert rejudged["rejudge"]["verdicts"] == 1 and rejudged["rejudge"]["judge_model"] == "openai/other-judge"
    assert test["recordings"]["cassette"] is not None  # the app's recording is still the one in use


def test_rejudge_refuses_to_rewrite_recordings(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest("--llmops-rejudge", "--llmops-record-mode=all")
    result.stderr.fnmatch_lines(["*--llmops-rejudge keeps the app's recordings*"])


# -- the command line ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:llmops. no price known")
def test_cli_judge_audit_exit_status_follows_the_gate(tmp_path, scripted, capsys):
    from pytest_llmops.cli import main

    labels = tmp_path / "labels.jsonl"
    labels.write_text("\n".join(json.dumps(r) for r in _label_rows()) + "\n", encoding="utf-8")
    scripted.responder = agreeing_judge
    argv = ["judge-audit", str(labels), "--judge-model", "openai/loopback-model", "--api-base", scripted.base_url]
    assert main([*argv, "--json", str(tmp_path / "audit.json")]) == 0
    out = capsys.readouterr()
    assert "criterion" in out.out and "pass" in out.out and "64 judge call(s): 64 live" in out.err
    assert json.loads((tmp_path / "audit.json").read_text())[0]["agreement"]["kappa"] == 1.0
    scripted.responder = random_judge
    assert main([*argv, "--criteria", CRITERION]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_judge_audit_marker_arguments_are_usage_errors(pytester):
    pytester.makepyfile(test_x="""
        import pytest

        @pytest.mark.judge_audit("labels.jsonl", min_kappa=2)
        def test_a(judge):
            pass

        @pytest.mark.judge_audit("labels.jsonl", retest=0, colour="red")
        def test_b(judge):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*bad marker arguments*", "*test_a*min_kappa=2: expected a number in*",
                                 "*test_b*unknown argument(s) colour*"])


def test_missing_label_file_errors_the_audit_test(pytester, scripted):
    configure(pytester, scripted.base_url)
    pytester.makepyfile(test_x="""
        import pytest

        @pytest.mark.judge_audit("nowhere.jsonl")
        def test_a(judge):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 1 and "passed" not in outcomes
    result.stdout.fnmatch_lines(["*ConfigError: @pytest.mark.judge_audit: label file 'nowhere.jsonl' not found*"])
    assert model_requests(scripted) == []
