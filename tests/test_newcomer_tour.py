"""Issue 18: the README's tour runs as written in a fresh project; a prompt carries its model; usage errors
inside a test or a sample are errors (never failures); terminal lines only cross what can have failed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import by_nodeid, load_report

from pytest_llmops.testing.loopback import LoopbackServer

README = Path(__file__).resolve().parents[1] / "README.md"
MODEL = "openai/loopback-model"

APP = '''
"""A tiny support app: retrieval over three articles, then litellm.completion (captured by the plugin)."""
import os
from dataclasses import dataclass

import litellm

ARTICLES = {"kb-01": "reset your password from the login page", "kb-02": "refunds within 30 days",
            "kb-03": "invoices are in the billing tab"}


@dataclass
class Reply:
    text: str
    retrieved_ids: list


def retrieve(question, k=4):
    words = set(question.lower().split())
    ranked = sorted(ARTICLES, key=lambda i: -len(words & set(ARTICLES[i].split())))
    return ranked[:k]


def answer(question):
    ids = retrieve(question)
    response = litellm.completion(
        model="openai/loopback-model", api_base=os.environ["TOUR_API_BASE"], api_key="sk-loopback",
        temperature=0, messages=[{"role": "system", "content": "Answer from: " + ARTICLES[ids[0]]},
                                 {"role": "user", "content": question}])
    return Reply(response.choices[0].message.content, ids)
'''

PROMPT = """
name: support_answer
current: v2
versions:
  v1:
    model: openai/loopback-model
    params: {temperature: 0.7, max_tokens: 60}
    messages:
      - {role: system, content: "You are a support assistant."}
      - {role: user, content: "{{ question }}"}
  v2:
    model: openai/loopback-model
    params: {temperature: 0.7, max_tokens: 80}
    messages:
      - {role: system, content: "You are a polite support assistant. Offer a next step."}
      - {role: user, content: "{{ question }}"}
"""

GOLDENS = [
    {"id": "reset-password", "input": "how do I reset my password", "tags": ["core"],
     "expected": "reset your password from the login page", "relevant_ids": ["kb-01"]},
    {"id": "refund", "input": "can I get refunds", "tags": ["core"],
     "expected": "refunds within 30 days", "relevant_ids": ["kb-02"]},
]


def tour_code() -> str:
    """The README's tour: the first python block after the '## A tour' heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## A tour")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, "the README has no python block in its tour"
    return match.group(1)


def responder(body: dict[str, Any]) -> str | dict[str, Any]:
    system = str(body["messages"][0].get("content", ""))
    if "impartial evaluator" in system:
        return {"reasoning": "polite, offers a next step", "score": 5}
    question = str(body["messages"][-1]["content"])
    for article in ("reset your password from the login page", "refunds within 30 days"):
        if any(word in question for word in article.split()[:2]):
            return f"Sure: {article}. Anything else?"
    return "Sure, happy to help. Next step: reply with your order number."


def make_project(pytester: pytest.Pytester, base_url: str, *, model_line: str = "") -> None:
    pytester.makepyfile(app=APP, test_tour=tour_code())
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "support_answer.yaml").write_text(PROMPT, encoding="utf-8")
    (pytester.path / "goldens").mkdir()
    (pytester.path / "goldens" / "support.jsonl").write_text(
        "".join(json.dumps(case) + "\n" for case in GOLDENS), encoding="utf-8")
    # no llmops_model: the prompt version declares its model, the judge is named on its own
    pytester.makeini(f"""
        [pytest]
        llmops_judge_model = {MODEL}
        llmops_api_base = {base_url}
        llmops_embedder = lexical
        llmops_prices =
            {MODEL} = 0.1 0.2
        {model_line}
    """)


def test_readme_tour_runs_as_written_records_then_replays(pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer(responder=responder) as server:
        monkeypatch.setenv("TOUR_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")  # what a user exports for a live run
        make_project(pytester, server.base_url)
        live = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=live.json", "-W",
                                             "error::UserWarning")
        sent = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    assert live.ret == 0, live.stdout.str()[-3000:]
    tests = by_nodeid(load_report(pytester.path / "live.json"))
    assert set(tests) == {
        "test_tour.py::test_answer[reset-password]", "test_tour.py::test_answer[refund]",
        "test_tour.py::test_tone[support_answer@v1]", "test_tour.py::test_tone[support_answer@v2]",
    }
    # the rendered prompt carried its version's model and params to the call
    tone = [r for r in sent if "support assistant" in str(r["messages"][0]["content"])]
    assert tone and {r["model"] for r in tone} == {"loopback-model"}
    assert {r["max_tokens"] for r in tone} == {60, 80} and {r["temperature"] for r in tone} == {0.7}
    # the server is gone: the same tour replays offline from what was recorded
    replay = pytester.runpytest_subprocess("--llmops-report=replay.json")
    assert replay.ret == 0, replay.stdout.str()[-3000:]
    replayed = load_report(pytester.path / "replay.json")
    assert replayed["totals"]["calls"] == replayed["totals"]["replayed_calls"] > 0


def test_call_arguments_override_the_prompts_model_and_params(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    with LoopbackServer() as server:
        make_project(pytester, server.base_url)
        pytester.makepyfile(test_tour="""
            import pytest

            @pytest.mark.prompt("support_answer", version="v1")
            def test_override(prompt, llm):
                messages = prompt.render(question="hi")
                assert messages.model == "openai/loopback-model" and messages.params["max_tokens"] == 60
                assert messages == [{"role": "system", "content": "You are a support assistant."},
                                    {"role": "user", "content": "hi"}]
                llm.complete(messages, max_tokens=7)
                llm.complete(messages, model="openai/other-model")
        """)
        result = pytester.runpytest_subprocess("--llmops-record-mode=off")
        sent = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    result.assert_outcomes(passed=1)
    assert [(r["model"], r["max_tokens"], r["temperature"]) for r in sent] == [
        ("loopback-model", 7, 0.7), ("other-model", 60, 0.7)]


USAGE_ERRORS = """
import pytest

@pytest.mark.sampling(n=3, min_pass_rate=0.6)
def test_sampled_without_model(llm):
    llm.complete("hello")

@pytest.mark.sampling(n=3, min_pass_rate=0.6)
def test_sampled_unknown_prompt(prompts):
    prompts.get("no_such_prompt")

def test_plain_without_model(llm):
    llm.complete("hello")

def test_bad_render(prompts):
    prompts.get("support_answer", "v1").render()
"""


def test_usage_errors_inside_tests_and_samples_are_errors(pytester: pytest.Pytester) -> None:
    with LoopbackServer() as server:
        make_project(pytester, server.base_url)
        pytester.makepyfile(test_tour=USAGE_ERRORS)
        result = pytester.runpytest_subprocess("--llmops-record-mode=off", "--llmops-report=r.json", "-rA")
        assert not [r for r in server.requests if r["path"].startswith("/v1/")]
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    assert "sampling failed" not in out and "valid samples passed" not in out
    assert "ConfigError: no model set for this call" in out
    tests = by_nodeid(load_report(pytester.path / "r.json"))
    assert {t["outcome"] for t in tests.values()} == {"error"}
    assert {t["error_kind"] for t in tests.values()} == {"config"}
    assert "no_such_prompt" in tests["test_tour.py::test_sampled_unknown_prompt"]["message"]
    assert "'question' is not defined" in tests["test_tour.py::test_bad_render"]["message"]


AGGREGATED = """
import pytest

@pytest.mark.parametrize("value", [0.0, 1.0, 1.0])
@pytest.mark.aggregate("cites_article", min=0.5)
def test_gated(llmops, value):
    llmops.metric("cites_article", value, min=1)

@pytest.mark.parametrize("value", [0.0, 0.0])
@pytest.mark.aggregate("hits", min=0.5)
def test_gate_fails(llmops, value):
    llmops.metric("hits", value, min=1)
"""


def test_aggregate_gated_metric_shows_no_cross_on_a_passed_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agg=AGGREGATED)
    result = pytester.runpytest_subprocess("-v")
    out = result.stdout.str().split("llmops")[-2] + result.stdout.str().split("llmops")[-1]
    summary = result.stdout.str()[result.stdout.str().index("- llmops -"):]
    assert "cites_article=0(>=1) ✗" not in summary
    assert "cites_article=0(>=1) (informative: gated on the aggregate)" in summary
    failing = [line for line in summary.splitlines() if line.startswith("FAILED: mean hits")]
    assert failing and failing[0].endswith("✗"), out
    assert not [line for line in summary.splitlines() if line.startswith("ok: mean cites_article") and "✗" in line]
