"""The production set: conversations Lumen's assistant had "in production", and prompt v2 shadowing them.

``goldens/production.jsonl`` was imported with ``pytest-llmops goldens import`` from the OpenTelemetry spans
of ``production/make_traces.py`` (the openai-SDK app on prompt v1, SmolLM2-135M, some answers rated
thumbs-down by the customer); the import wrote production's model calls as the recordings of
``test_production_replays_offline``.  See ``production/`` and the README.

* ``test_production_replays_offline``: the app sends each conversation's requests again and gets production's
  answers back from the recordings — turn by turn, no request leaves the machine.
* ``test_shadow_v2``: the candidate prompt v2 answers the same questions (its own conversation, turn by
  turn); ``shadow_compare`` asks the judge which final answer is more helpful, in both orders, and how
  similar it is to production's.  ``pytest-llmops shadow REPORT`` turns the per-case preferences into the
  verdict (better / worse / indistinguishable, exact sign test).  A case fails when v2's answer is empty or
  the judge prefers production's answer in both orders; the verdict over all cases is the result.
"""

import os

import openai
import pytest
from app import guardrails
from production.support_app import chat_turn, question_of, replay_turn
from test_judge import COMPARE_SCHEMA, make_judge

from pytest_llmops.scorers.shadow import shadow_compare

API_BASE = os.environ.get("SUPPORT_BOT_API_BASE", "http://127.0.0.1:8765/v1")
CRITERIA = "answers the customer's question correctly and helpfully"

pytestmark = [
    pytest.mark.golden("goldens/production.jsonl", tags=["production"]),
    pytest.mark.llm(model=os.environ.get("SUPPORT_BOT_MODEL", "openai/smollm2-135m"), api_base=API_BASE,
                    api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret")),
]


def client() -> openai.OpenAI:
    return openai.OpenAI(base_url=API_BASE, api_key="sk-local-not-secret", max_retries=0)


def turns_of(case):
    return case.turns or [{"user": case.input, "expected": case.expected}]


def test_production_replays_offline(golden_case):
    history = []
    for number, turn in enumerate(turns_of(golden_case), start=1):
        text = replay_turn(client(), turn["user"], history)
        assert text == turn["expected"], f"turn {number}: not the answer production gave"
        history += [{"role": "user", "content": turn["user"]}, {"role": "assistant", "content": text}]


@pytest.mark.prompt("support_answer", version="v2")
def test_shadow_v2(golden_case, prompt, llm, llmops):
    history = []
    for turn in turns_of(golden_case):
        raw = chat_turn(client(), question_of(turn["user"]), history, version=prompt.version)
    candidate = guardrails.check_output(raw).text  # what the customer would see (PII redacted, length capped)
    assert candidate, "v2 gave an empty answer"
    result = shadow_compare(candidate, golden_case, judge=make_judge(llm, COMPARE_SCHEMA), criteria=CRITERIA)
    llmops.note(f"judge: {result.winner}; similarity to production {result.similarity:.2f}; "
                f"production feedback: {result.negative_feedback and 'negative' or 'not negative'}")
    assert result.winner != "production", "the judge prefers production's answer in both orders"
