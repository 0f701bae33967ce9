"""LLM-as-judge over the assistant's answers; the judge runs on the same local model as the app.

The judge answers JSON; against a llama.cpp server we pass the JSON schema too, so decoding is constrained
and a 135M-parameter model still answers in shape.  Its scores are probability-weighted over the score
token (G-Eval) from the logprobs the server returns.  Per case the verdict is recorded; the gate is the mean.
"""

import os

import pytest
from app import answer

from pytest_llmops.scorers.judge import Judge

pytestmark = pytest.mark.llm(
    model=os.environ.get("SUPPORT_BOT_MODEL", "openai/smollm2-135m"),
    api_base=os.environ.get("SUPPORT_BOT_API_BASE", "http://127.0.0.1:8765/v1"),
    api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"),
)

SCORE_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["reasoning", "score"],
}
COMPARE_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "winner": {"enum": ["first", "second", "tie"]}},
    "required": ["reasoning", "winner"],
}
LOCAL = "127.0.0.1" in os.environ.get("SUPPORT_BOT_API_BASE", "http://127.0.0.1:8765/v1")


def make_judge(llm, schema):
    fmt = {"type": "json_object", "schema": schema} if LOCAL else None
    return Judge(llm, samples=1, temperature=0.0, response_format=fmt)


@pytest.mark.golden("goldens/support.jsonl", tags=["core"], limit=6)
@pytest.mark.aggregate("judge:answers-only-from-the-provided-articles", min=2.0)
def test_grounded_in_articles(golden_case, llm):
    reply = answer(golden_case.input)
    if not reply.sources:
        pytest.skip("no article was shown to the model")
    articles = [a.for_prompt()["body"] for a in reply.retrieved if a.id in reply.sources]
    make_judge(llm, SCORE_SCHEMA).check(reply.text, criteria="answers only from the provided articles",
                                        context="\n\n".join(articles), reference=golden_case.expected)


@pytest.mark.golden("goldens/support.jsonl", tags=["ab"])
def test_compare_prompt_versions(golden_case, llm, llmops):
    v1 = answer(golden_case.input, prompt_version="v1")
    v2 = answer(golden_case.input, prompt_version="v2")
    verdict = make_judge(llm, COMPARE_SCHEMA).compare(v1.text, v2.text, criteria="more helpful and more accurate")
    llmops.note(f"judge prefers: {verdict.winner}")
