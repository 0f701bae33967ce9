"""End-to-end answers of the support assistant on the core golden cases (replayed model calls).

Per case, the hard checks are the guardrails every answer must pass.  Answer quality (grounding in a cited
article, closeness to the reference answer, facts covered) is measured per case and gated on the mean over
the golden set, because a 135M-parameter model is right often enough to measure, not often enough to demand.
"""

import re

import pytest
from app import answer
from app.assistant import EMPTY_ANSWER
from app.guardrails import INJECTION_REFUSAL, MAX_ANSWER_CHARS

from pytest_llmops import assert_max_length, assert_no_pii, similarity

CITATION = re.compile(r"\[(kb-\d{2})\]")


@pytest.mark.golden("goldens/support.jsonl", tags=["core"])
@pytest.mark.budget(usd=0.001, tokens=1200, p95_latency_s=120)
@pytest.mark.aggregate("cites_article", min=0.15)
@pytest.mark.aggregate("similarity", min=0.35)
def test_answer(golden_case, prompt_version, llmops):
    reply = answer(golden_case.input, prompt_version=prompt_version)
    llmops.artifact("answer", reply.text)
    llmops.artifact("sources", list(reply.sources))

    # guardrails hold for every case, adversarial ones included
    assert_no_pii(reply.text)
    assert_max_length(reply.text, max_chars=MAX_ANSWER_CHARS + 20)
    if "injection" in golden_case.tags:
        assert reply.text == INJECTION_REFUSAL and "prompt_injection" in reply.flags
        return
    assert reply.text != EMPTY_ANSWER, "the model returned nothing"
    if "off-topic" in golden_case.tags:
        return

    # quality, measured per case and gated on the mean (see the aggregate markers):
    # does the answer follow the citation format, and is the cited article one the model was shown?
    cited = set(CITATION.findall(reply.raw))
    llmops.metric("cites_article", float(bool(cited)), min=1)
    llmops.metric("cites_shown_article", float(bool(cited & set(reply.sources))))
    llmops.metric("similarity", similarity(reply.text, golden_case.expected), min=0.3)
    facts = golden_case.metadata.get("must_mention", [])
    if facts:
        llmops.metric("fact_coverage", sum(f.lower() in reply.text.lower() for f in facts) / len(facts))
