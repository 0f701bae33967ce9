"""Issue 18: ``pytest --llmops-plan`` runs nothing and estimates what a run would replay, call live and cost;
the estimate is checked against the actual spend of a live run against the loopback server."""

from __future__ import annotations

import json
import re

import pytest
from conftest import load_report

from pytest_llmops.testing.loopback import LoopbackServer

PROMPT = """
name: ask
versions:
  v1:
    model: openai/loopback-model
    params: {temperature: 0, max_tokens: 64}
    messages:
      - {role: system, content: "You answer support questions about the Lumen app in one short sentence."}
      - {role: user, content: "{{ question }}"}
"""

SUITE = """
import pytest

@pytest.mark.golden("goldens/q.jsonl")
@pytest.mark.prompt("ask")
def test_case(golden_case, prompt, llm):
    assert llm.complete(prompt.render(question=golden_case.input)).text

@pytest.mark.prompt("ask")
@pytest.mark.sampling(n=3, min_pass_rate=0.5)
def test_sampled(prompt, llm):
    assert llm.complete(prompt.render(question="how do I export my notes to markdown?")).text
"""

TOTAL = re.compile(r"llmops plan total: (\d+) tests, (\d+) calls replayed, (\d+) live, estimated "
                   r"\$([\d.]+) ± \$([\d.]+) \(range \$([\d.]+)\.\.\$([\d.]+)\)")


def _total(out: str) -> tuple[int, ...] | tuple[float, ...]:
    match = TOTAL.search(out)
    assert match, out[-3000:]
    tests, replayed, live = (int(g) for g in match.groups()[:3])
    cost, pm, low, high = (float(g) for g in match.groups()[3:])
    return tests, replayed, live, cost, pm, low, high


def test_plan_estimates_then_live_spend_falls_in_its_range(pytester: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "ask.yaml").write_text(PROMPT)
    (pytester.path / "goldens").mkdir()
    questions = ["how do I reset my password?", "can I share a notebook with a colleague who has no account?",
                 "what is the storage limit of the free plan?"]
    (pytester.path / "goldens" / "q.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "input": q}) + "\n" for i, q in enumerate(questions)))
    pytester.makepyfile(test_plan_suite=SUITE)
    with LoopbackServer() as server:
        pytester.makeini(f"[pytest]\nllmops_api_base = {server.base_url}\n"
                         "llmops_prices =\n    openai/loopback-model = 1000 2000\n")
        before = pytester.runpytest_subprocess("--llmops-plan", "--llmops-record-mode=once")
        assert not [r for r in server.requests if r["path"].startswith("/v1/")], "the plan called the model"
        live = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=r.json")
        spent = load_report(pytester.path / "r.json")["totals"]["cost_usd"]
        again = pytester.runpytest_subprocess("--llmops-plan", "--llmops-record-mode=all")
    assert before.ret == 0 and live.ret == 0, live.stdout.str()[-2000:]
    assert "nothing was run" in before.stdout.str() and "passed" not in before.stdout.str().splitlines()[-1]
    tests, replayed, calls, cost, _, low, high = _total(before.stdout.str())
    assert (tests, replayed, calls) == (4, 0, 6)  # n=3 samples planned: an upper bound when sampling stops early
    assert low <= spent <= high, (low, spent, high)
    # with the recordings: replay-only plans 5 replayed calls, nothing live, nothing to pay
    replay = pytester.runpytest("--llmops-plan")
    assert _total(replay.stdout.str())[:4] == (4, 5, 0, 0.0)
    # re-recording everything: estimated from the recorded requests and completions, close to what was spent
    _, _, calls, cost, _, low, high = _total(again.stdout.str())
    assert calls == 5  # the sampled test stopped early after 2 of 3 samples: 5 calls were recorded
    assert low <= spent <= high and abs(cost - spent) / spent < 0.25, (cost, spent)


def test_plan_without_recordings_in_replay_mode_names_what_would_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_needs_model(llm):
            llm.complete("hi", model="openai/gpt-4o-mini")
    """)
    out = pytester.runpytest("--llmops-plan").stdout.str()
    assert "NO RECORDING: would error" in out and "1 tests without a recording" in out


SIBLINGS = """
import pytest

@pytest.mark.parametrize("q", ["alpha", "beta", "gamma"])
def test_app(llm, q):
    assert llm.complete("please answer the question named " + q, model="openai/loopback-model").text
"""


def test_a_new_case_is_estimated_from_its_recorded_siblings(pytester: pytest.Pytester,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    pytester.makepyfile(test_app=SIBLINGS)
    with LoopbackServer() as server:
        pytester.makeini(f"[pytest]\nllmops_api_base = {server.base_url}\n"
                         "llmops_prices =\n    openai/loopback-model = 1000 2000\n")
        first = pytester.runpytest_subprocess("--llmops-record-mode=once", "-k", "not gamma")
        first.assert_outcomes(passed=2, deselected=1)
        plan = pytester.runpytest_subprocess("--llmops-plan", "--llmops-record-mode=once")
        live = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=r.json")
    assert live.ret == 0
    tests, replayed, calls, cost, _, low, high = _total(plan.stdout.str())
    assert (tests, replayed, calls) == (3, 2, 1)
    report = load_report(pytester.path / "r.json")
    [gamma] = [t for t in report["tests"] if t["nodeid"].endswith("[gamma]")]
    spent = gamma["calls"][0]["cost_usd"]
    assert low <= spent <= high and abs(cost - spent) / spent < 0.2, (low, cost, spent, high)
