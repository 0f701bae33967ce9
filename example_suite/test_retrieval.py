"""Retrieval quality over the whole golden set: per-case metrics, and run-level thresholds on the means."""

import pytest
from app import retrieve

from pytest_llmops import assert_retrieval


@pytest.mark.golden("goldens/support.jsonl")
@pytest.mark.aggregate("recall@4", min=0.9)
@pytest.mark.aggregate("mrr", min=0.8)
def test_retrieval(golden_case):
    if not golden_case.relevant_ids:
        pytest.skip("off-topic case: nothing to retrieve")
    retrieved = [article.id for article in retrieve(golden_case.input, k=4)]
    # per case we record every metric; the run-level gate is the aggregate above
    assert_retrieval(retrieved, golden_case.relevant_ids, k=4)
