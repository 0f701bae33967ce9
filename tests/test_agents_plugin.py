"""Agents through the plugin (pytester, real HTTP to the loopback server scripted to answer with tool_calls).

Trajectories derived from the recorded litellm and openai-SDK calls, replayed with zero requests; a multi-turn
golden set through the ``conversation`` fixture; a simulated user recorded then replayed byte-identically;
pass@k / pass^k in the record and the terminal summary of a sampled test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import by_nodeid
from inner_runs import configure, model_requests, run

from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")  # imported once here: in-process inner runs reuse it
openai = pytest.importorskip("openai")


def _tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def scripted_agent(body: dict[str, Any]) -> Any:
    """A deterministic 'model': search, then open the first hit, then answer; the simulated user says DONE."""
    messages = body.get("messages") or []
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    if "role-playing a customer" in system:
        turns = sum(1 for m in messages if m.get("role") == "assistant")
        return "GOAL-REACHED" if turns >= 2 else f"How do I reset my password? (try {turns})"
    last = messages[-1]
    tool_results = sum(1 for m in messages if m.get("role") == "tool")
    if last.get("role") == "user":
        if "no tools" in last["content"]:
            return f"plain answer to: {last['content']}"
        return {"content": None, "tool_calls": [_tool_call(f"call_search_{tool_results}", "search",
                                                           {"query": last["content"][:30], "k": 3})]}
    if last.get("tool_call_id", "").startswith("call_search"):
        return {"content": None, "tool_calls": [_tool_call(f"call_open_{tool_results}", "open_article",
                                                           {"id": "kb-02"})]}
    question = next(m["content"] for m in reversed(messages) if m.get("role") == "user")
    return f"Answer for {question}: see kb-02."


@pytest.fixture
def server():
    with LoopbackServer(responder=scripted_agent) as running:
        yield running


AGENT = '''
import json

TOOLS = [{{"type": "function", "function": {{"name": n, "parameters": {{"type": "object"}}}}}}
         for n in ("search", "open_article")]
IMPL = {{"search": lambda query, k=3: {{"hits": ["kb-02", "kb-03"][:k]}},
        "open_article": lambda id: {{"id": id, "title": "Reset your password"}}}}


def complete(messages):
    {complete}


def run_agent(question, history=None):
    messages = list(history or []) + [{{"role": "user", "content": question}}]
    for _ in range(6):
        message = complete(messages)
        calls = message.get("tool_calls") or []
        if not calls:
            return message.get("content") or ""
        messages.append({{"role": "assistant", "content": None, "tool_calls": calls}})
        for call in calls:
            result = IMPL[call["function"]["name"]](**json.loads(call["function"]["arguments"]))
            messages.append({{"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}})
    return "gave up"
'''

LITELLM = '''import litellm
    response = litellm.completion(model="openai/loopback-model", messages=messages, tools=TOOLS,
                                  api_base="{base}", api_key="sk-test", temperature=0)
    message = response.choices[0].message
    return {{"content": message.content,
             "tool_calls": [c.model_dump() for c in message.tool_calls or []]}}'''

OPENAI_SDK = '''import openai
    client = openai.OpenAI(base_url="{base}", api_key="sk-test")
    response = client.chat.completions.create(model="loopback-model", messages=messages, tools=TOOLS,
                                              temperature=0)
    message = response.choices[0].message
    return {{"content": message.content,
             "tool_calls": [c.model_dump() for c in message.tool_calls or []]}}'''


def write_agent(pytester: pytest.Pytester, base: str, route: str = LITELLM) -> None:
    pytester.makepyfile(agent=AGENT.format(complete=route.format(base=base)))


TRAJECTORY_TEST = '''
from agent import run_agent
from pytest_llmops import assert_trajectory, regex


def test_agent(llmops):
    answer = run_agent("reset my password")
    assert "kb-02" in answer
    steps = llmops.trajectory()
    assert [s["tool"] for s in steps] == ["search", "open_article"]
    assert steps[0]["arguments"] == {"query": "reset my password", "k": 3}
    assert steps[0]["result"] == '{"hits": ["kb-02", "kb-03"]}'
    assert steps[1]["call"] == 1 and steps[0]["call"] == 0
    assert_trajectory(steps, [{"tool": "search", "args": {"query": regex("password")}},
                              {"tool": "open_article", "args": {"id": "kb-02"}}], args="superset", max_steps=4)


def test_wrong_expectation(llmops):
    run_agent("reset my password")
    assert_trajectory(llmops.trajectory(), ["search", {"tool": "create_ticket", "args": {}}])
'''


def _check_trajectory_run(pytester: pytest.Pytester, server: LoopbackServer) -> None:
    result, record = run(pytester, "--llmops-record-mode=all")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "first divergence at step 1" in out and "create_ticket" in out and "open_article(id='kb-02')" in out
    live = len(model_requests(server))
    assert live == 6  # two tests x (search, open, answer)
    tests = by_nodeid(record)
    ok = tests["test_trajectories.py::test_agent"]
    assert [s["tool"] for s in ok["trajectory"]] == ["search", "open_article"]
    metrics = {m["name"]: m["value"] for m in ok["metrics"]}
    assert metrics["tool_call_f1"] == 1.0 and metrics["trajectory_steps"] == 2
    assert metrics["repeated_tool_calls"] == 0
    bad = {m["name"]: m["value"] for m in tests["test_trajectories.py::test_wrong_expectation"]["metrics"]}
    assert bad["tool_call_precision"] == 0.5 and bad["tool_call_recall"] == 0.5 and bad["trajectory_match"] == 0
    replay, replayed = run(pytester, "--llmops-record-mode=none")
    replay.assert_outcomes(passed=1, failed=1)
    assert len(model_requests(server)) == live  # zero requests on replay
    again = by_nodeid(replayed)["test_trajectories.py::test_agent"]["trajectory"]
    assert again == ok["trajectory"]


def test_trajectory_from_litellm_calls_recorded_and_replayed(pytester, server):
    configure(pytester, server.base_url)
    write_agent(pytester, server.base_url)
    pytester.makepyfile(test_trajectories=TRAJECTORY_TEST)
    _check_trajectory_run(pytester, server)


def test_trajectory_from_openai_sdk_calls(pytester, server):
    pytest.importorskip("pytest_llmops.calls.http_capture")
    configure(pytester, server.base_url)
    write_agent(pytester, server.base_url, OPENAI_SDK)
    pytester.makepyfile(test_trajectories=TRAJECTORY_TEST)
    _check_trajectory_run(pytester, server)


CONVERSATIONS = """
cases:
  - id: reset-flow
    turns:
      - user: reset my password
        must_include: [kb-02]
        expected_trajectory: [search, {tool: open_article, args: {id: {$regex: "^kb-0"}}}]
      - user: and with no tools please
        must_include: [plain answer]
        expected_trajectory: []
      - user: thanks, reset again
        must_include: [kb-02]
  - id: broken-flow
    turns:
      - user: reset my password
      - user: no tools now
        must_include: [kb-99]
      - user: bye, no tools
"""

CONVERSATION_TEST = '''
import pytest
from agent import run_agent


@pytest.mark.golden("conversations.yaml")
def test_conversation(golden_case, conversation):
    result = conversation.run(lambda message, history: run_agent(message, history))
    assert len(result.turns) == 3
'''


def test_multi_turn_golden_set_through_the_conversation_fixture(pytester, server):
    configure(pytester, server.base_url)
    write_agent(pytester, server.base_url)
    pytester.makefile(".yaml", conversations=CONVERSATIONS)
    pytester.makepyfile(test_conv=CONVERSATION_TEST)
    result, record = run(pytester, "--llmops-record-mode=all")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "conversation 'broken-flow': turn 1 of 3 failed" in out and "kb-99" in out
    tests = by_nodeid(record)
    good = tests["test_conv.py::test_conversation[reset-flow]"]
    run_info = good["conversation"]["runs"][0]
    assert [t["passed"] for t in run_info["turns"]] == [True, True, True]
    assert [t["steps"] for t in run_info["turns"]] == [2, 0, 2]
    assert {s["turn"] for s in good["trajectory"]} == {0, 2}
    assert all(c["turn"] in (0, 1, 2) for c in good["calls"])
    metrics = {m["name"]: m["value"] for m in good["metrics"]}
    assert metrics["conversation_turns"] == 3 and metrics["conversation_turns_passed"] == 1.0
    assert metrics["turn[0].tool_call_f1"] == 1.0 and metrics["conversation_tool_steps"] == 4
    bad = tests["test_conv.py::test_conversation[broken-flow]"]["conversation"]["runs"][0]
    assert [t["passed"] for t in bad["turns"]] == [True, False, True]
    live = len(model_requests(server))
    replay, _ = run(pytester, "--llmops-record-mode=none")
    replay.assert_outcomes(passed=1, failed=1)
    assert len(model_requests(server)) == live


SIMULATION_TEST = '''
import pytest
from agent import run_agent


@pytest.mark.llm(model="openai/loopback-model", api_key="sk-test")
def test_simulated(conversation, llmops):
    result = conversation.simulate(lambda m, h: run_agent(m, h), persona="a busy admin",
                                   goal="reset the password", max_turns=4)
    llmops.artifact("transcript", result.history)
    assert result.goal_reached and result.stopped_by == "simulator"
    assert len(result.turns) == 2


@pytest.mark.sampling(n=3, min_pass_rate=1.0)
@pytest.mark.llm(model="openai/loopback-model", api_key="sk-test")
def test_simulated_sampled(conversation):
    result = conversation.simulate(lambda m, h: run_agent(m, h), persona="p", goal="g", max_turns=3)
    assert result.goal_reached
'''


def test_simulated_user_recorded_then_replayed_with_zero_requests(pytester, server):
    configure(pytester, server.base_url)
    write_agent(pytester, server.base_url)
    pytester.makepyfile(test_sim=SIMULATION_TEST)
    result, record = run(pytester, "--llmops-record-mode=all")
    result.assert_outcomes(passed=2)
    live = len(model_requests(server))
    first = by_nodeid(record)["test_sim.py::test_simulated"]
    replay, replayed = run(pytester, "--llmops-record-mode=none", "-vv")
    replay.assert_outcomes(passed=2)
    assert len(model_requests(server)) == live
    again = by_nodeid(replayed)["test_sim.py::test_simulated"]
    assert json.dumps(again["artifacts"], sort_keys=True) == json.dumps(first["artifacts"], sort_keys=True)
    assert again["conversation"] == first["conversation"]
    assert again["trajectory"] == first["trajectory"]
    sampled = by_nodeid(replayed)["test_sim.py::test_simulated_sampled"]["sampling"]
    assert sampled["passes"] == 3 and sampled["pass_k"]["pass_at_k"]["3"] == 1.0
    assert sampled["pass_k"]["pass_hat_k"]["3"] == 1.0
    assert "pass@3=1.00 pass^3=1.00" in replay.stdout.str()
