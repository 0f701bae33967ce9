"""Ticket triage in JSON mode: a JSON object every time; schema validity and labels gated on the mean."""

import pytest
from app.triage import TRIAGE_SCHEMA, triage

from pytest_llmops import assert_json_schema


@pytest.mark.golden("goldens/triage.yaml")
@pytest.mark.budget(tokens=900)
@pytest.mark.aggregate("schema_valid", min=0.5)
# SmolLM2-135M gets ~1 category in 8 right: the gate catches a collapse; raise it with a better model
@pytest.mark.aggregate("category_match", min=0.1)
def test_triage(golden_case, llmops):
    result = triage(golden_case.input)
    if "error" in result:
        assert result["error"] != "invalid_json", f"not JSON despite JSON mode: {result['raw']!r}"
        llmops.metric("schema_valid", 0.0, min=1)
        return
    assert_json_schema(result, TRIAGE_SCHEMA)  # records schema_valid-style metric json_schema_valid
    llmops.metric("schema_valid", 1.0, min=1)
    llmops.metric("category_match", float(result["category"] == golden_case.expected["category"]))
    llmops.metric("priority_match", float(result["priority"] == golden_case.expected["priority"]))
