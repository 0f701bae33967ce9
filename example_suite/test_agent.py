"""The Lumen help agent: tool-call trajectories, multi-turn conversations and a simulated user.

The trajectory of every test comes from the recorded model calls (``llmops.trajectory()``); the agent is not
instrumented.  SmolLM2-135M picks tools poorly, so per-case numbers are recorded and the run is gated on their
mean (aggregate markers); ``LUMEN_AGENT_PROMPT_VERSION=v2`` (recordings in ``recordings-v2/``) is the worse
prompt the agent review demo catches.
"""

import os

import pytest
from app.agent import MAX_TOOL_STEPS, chat, run_agent

from pytest_llmops import match_trajectory
from pytest_llmops.scorers.trajectory import record_trajectory_metrics

LOCAL = {"model": os.environ.get("SUPPORT_BOT_MODEL", "openai/smollm2-135m"),
         "api_base": os.environ.get("SUPPORT_BOT_API_BASE", "http://127.0.0.1:8765/v1"),
         "api_key": os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret")}


@pytest.mark.golden("goldens/agent_trajectories.jsonl")
@pytest.mark.budget(tokens=6000)
@pytest.mark.aggregate("tool_call_recall", min=0.3)
@pytest.mark.aggregate("first_tool_right", min=0.5)
def test_agent_trajectory(golden_case, llmops):
    reply = run_agent(golden_case.input)
    assert reply.text.strip(), "the agent gave no answer"
    steps = llmops.trajectory()
    assert [s["tool"] for s in steps] == [s["tool"] for s in reply.steps]  # derived == what the app did
    assert len(steps) <= MAX_TOOL_STEPS
    expected = golden_case.expected_trajectory
    # per case, informative: tool_call_precision/recall/f1, trajectory_steps, repeated_tool_calls
    record_trajectory_metrics(steps, expected, args="superset", max_steps=MAX_TOOL_STEPS)
    first = expected[0] if isinstance(expected[0], str) else expected[0]["tool"]
    llmops.metric("first_tool_right", float(bool(steps) and steps[0]["tool"] == first))
    llmops.metric("trajectory_match", float(match_trajectory(steps, expected, order="superset", args="superset").ok))


@pytest.mark.golden("goldens/conversations.yaml")
@pytest.mark.aggregate("conversation_turns_passed", min=0.3)
def test_conversation(golden_case, conversation):
    result = conversation.run(chat, strict=False)  # turn checks are recorded; the gate is the aggregate
    assert len(result.turns) == len(golden_case.turns) >= 3
    assert all(turn.output.strip() for turn in result.turns), "an empty answer in a turn"


@pytest.mark.sampling(n=2, min_pass_rate=1.0)
@pytest.mark.llm(**LOCAL, temperature=0.7, max_tokens=40)
def test_simulated_user(conversation, llmops):
    result = conversation.simulate(chat, persona="a small-business owner in a hurry",
                                   goal="find out how to reset the account password", max_turns=2,
                                   stop="kb-02")
    assert result.turns and all(turn.output.strip() for turn in result.turns)
