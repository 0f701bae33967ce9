"""A/B of the support_answer prompt versions on a few cases, sampled: the answer varies from run to run."""

import pytest
from app import answer

from pytest_llmops import assert_no_pii, assert_similar


@pytest.mark.golden("goldens/support.jsonl", tags=["ab"])
@pytest.mark.prompt("support_answer", versions=["v1", "v2"])
@pytest.mark.sampling(n=3, min_pass_rate=0.3)
def test_answer_versions(golden_case, prompt, llmops):
    reply = answer(golden_case.input, prompt_version=prompt.version)
    assert reply.text.strip(), "empty answer"
    assert_no_pii(reply.text)
    if "off-topic" not in golden_case.tags:
        assert_similar(reply.text, golden_case.expected, min_score=0.2)
