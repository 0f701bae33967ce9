"""Guardrails: PII on a labelled list, JSON schema, length, banned content, refusals."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmops.errors import ConfigError
from pytest_llmops.scorers.guardrails import (
    REFUSAL_MARKERS,
    assert_json_schema,
    assert_max_length,
    assert_no_banned,
    assert_no_pii,
    assert_not_refusal,
    assert_refusal,
    is_refusal,
)
from pytest_llmops.scorers.pii import PII_KINDS, find_pii, mask, redact_pii

CASES_FILE = Path(__file__).parent / "data" / "pii_cases.jsonl"


def _load_cases() -> list[dict]:
    return [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- PII: labelled list -------------------------------------------------------------------------------


def test_labelled_list_covers_every_kind_and_many_near_misses():
    cases = _load_cases()
    kinds = Counter(kind for case in cases for kind, _ in case["expect"])
    assert set(kinds) == set(PII_KINDS)
    assert sum(1 for case in cases if not case["expect"]) >= 25  # negatives / near misses


def test_precision_and_recall_are_one_on_the_labelled_list():
    tp, fp, fn = Counter(), Counter(), Counter()
    wrong = []
    for case in _load_cases():
        found = Counter((m.kind, m.text) for m in find_pii(case["text"]))
        expected = Counter((kind, text) for kind, text in case["expect"])
        for key in found | expected:
            tp[key[0]] += min(found[key], expected[key])
            fp[key[0]] += max(0, found[key] - expected[key])
            fn[key[0]] += max(0, expected[key] - found[key])
        if found != expected:
            wrong.append((case["note"], sorted(found), sorted(expected)))
    total_tp, total_fp, total_fn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision = total_tp / (total_tp + total_fp)
    recall = total_tp / (total_tp + total_fn)
    assert (precision, recall) == (1.0, 1.0), wrong


@pytest.mark.parametrize("case", _load_cases(), ids=lambda case: case["note"])
def test_each_labelled_case(case):
    found = find_pii(case["text"])
    assert [[m.kind, m.text] for m in found] == case["expect"]
    for m in found:
        assert case["text"][m.start : m.end] == m.text


def test_kinds_filter_and_overlap_resolution():
    text = "IBAN DE89 3704 0044 0532 0130 00, mail a@b.co"
    assert [m.kind for m in find_pii(text)] == ["iban", "email"]
    # the card-like digits inside the IBAN are not reported even when only cards are asked for
    assert find_pii(text, kinds=["credit_card"]) == []
    assert [m.kind for m in find_pii(text, kinds="email")] == ["email"]
    with pytest.raises(ConfigError, match="unknown PII kind"):
        find_pii(text, kinds=["passport"])
    with pytest.raises(ConfigError, match="str"):
        find_pii(None)  # type: ignore[arg-type]


def test_masks_hide_the_value():
    assert mask("credit_card", "4111 1111 1111 1111") == "**** **** **** 1111"
    assert mask("email", "jane.doe@example.com") == "****.***@*******.***"
    assert mask("ssn", "123-45-6789") == "***-**-****"


def test_redact_pii_replaces_every_match():
    text = "Mail ann@corp.com or call (415) 555-2671; card 4111-1111-1111-1111; ssn 123-45-6789."
    redacted = redact_pii(text)
    assert redacted == "Mail [email] or call [phone]; card [credit_card]; ssn [ssn]."
    assert find_pii(redacted) == []
    assert redact_pii(text, placeholder="<{kind}>", kinds=["email"]).startswith("Mail <email> or call (415)")
    with pytest.raises(ConfigError, match="placeholder"):
        redact_pii(text, placeholder="[{type}]")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 .-:+@()abcDEFxyz")), max_size=60))
def test_find_pii_spans_are_consistent_on_arbitrary_text(text):
    matches = find_pii(text)
    previous_end = 0
    for m in matches:
        assert m.kind in PII_KINDS
        assert text[m.start : m.end] == m.text
        assert m.start >= previous_end  # sorted, no overlaps
        previous_end = m.end
    redacted = redact_pii(text, placeholder="#")
    assert len(redacted) == len(text) - sum(m.end - m.start for m in matches) + len(matches)


def test_assert_no_pii_records_masked_details_and_names_kinds(recorder):
    text = "Reach jane.doe@example.com or 415-555-2671."
    with pytest.raises(AssertionError) as info:
        assert_no_pii(text)
    message = str(info.value)
    assert "email at 6-26" in message and "phone at 30-42" in message
    assert "jane.doe@example.com" not in message and "415-555-2671" not in message
    (metric,) = recorder.metrics
    assert (metric.name, metric.value, metric.max, metric.passed) == ("pii_found", 2.0, 0.0, False)
    assert metric.details["kinds_found"] == ["email", "phone"]
    serialized = json.dumps(metric.details)
    assert "jane.doe" not in serialized and "2671" not in serialized
    assert metric.details["matches"][0]["masked"] == "****.***@*******.***"


def test_assert_no_pii_passes_clean_text_and_respects_kinds(recorder):
    assert_no_pii("Nothing here but version 1.2.3.4 and $1,299.99")
    assert_no_pii("call 415-555-2671", kinds=["email", "ssn"])
    assert [m.value for m in recorder.metrics] == [0.0, 0.0]
    assert recorder.metrics[1].details["kinds_checked"] == ["email", "ssn"]


# -- JSON schema --------------------------------------------------------------------------------------

TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 3},
        "priority": {"enum": ["low", "medium", "high"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "server": {"type": "string", "format": "ipv4"},
    },
    "required": ["title", "priority"],
    "additionalProperties": False,
}


def test_json_schema_valid_text_object_and_fenced_block(recorder):
    assert assert_json_schema('{"title": "Printer", "priority": "low"}', TICKET_SCHEMA)["priority"] == "low"
    assert assert_json_schema({"title": "Printer", "priority": "high"}, TICKET_SCHEMA)["title"] == "Printer"
    fenced = 'Here you go:\n```json\n{"title": "Disk full", "priority": "medium", "tags": ["ops"]}\n```\nBye'
    assert assert_json_schema(fenced, TICKET_SCHEMA)["tags"] == ["ops"]
    assert [m.value for m in recorder.metrics] == [1.0, 1.0, 1.0]
    assert all(m.name == "json_schema_valid" and m.min == 1.0 for m in recorder.metrics)


def test_json_schema_violation_names_the_path(recorder):
    with pytest.raises(AssertionError) as info:
        assert_json_schema('{"title": "Printer", "priority": "urgent", "tags": ["a", 3]}', TICKET_SCHEMA)
    message = str(info.value)
    assert "$.priority: 'urgent' is not one of ['low', 'medium', 'high']" in message
    assert "$.tags[1]: 3 is not of type 'string'" in message
    assert "2 error(s)" in message
    (metric,) = recorder.metrics
    assert metric.value == 0.0 and metric.passed is False
    assert [e["path"] for e in metric.details["errors"]] == ["$.priority", "$.tags[1]"]


def test_json_schema_checks_formats_and_required():
    with pytest.raises(AssertionError, match=r"\$\.server: '300.1.1.1' is not a 'ipv4'"):
        assert_json_schema({"title": "abc", "priority": "low", "server": "300.1.1.1"}, TICKET_SCHEMA)
    with pytest.raises(AssertionError, match=r"\$: 'priority' is a required property"):
        assert_json_schema({"title": "abc"}, TICKET_SCHEMA)


def test_invalid_json_reports_line_and_column(recorder):
    with pytest.raises(AssertionError, match="line 3 column 1"):
        assert_json_schema('{"title": "x",\n "priority": "low"\n', TICKET_SCHEMA)
    assert recorder.metrics[0].value == 0.0
    assert recorder.metrics[0].details["line"] == 3


def test_bad_schema_is_a_config_error():
    with pytest.raises(ConfigError, match=r"schema is invalid at \$\.properties\.priority\.type"):
        assert_json_schema("{}", {"type": "object", "properties": {"priority": {"type": "text"}}})
    with pytest.raises(ConfigError, match="schema must be a dict"):
        assert_json_schema("{}", "object")  # type: ignore[arg-type]


def test_schema_draft_is_taken_from_dollar_schema():
    # Draft 4 reads exclusiveMaximum as a boolean; 2020-12 as a number
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": True}
    with pytest.raises(AssertionError):
        assert_json_schema("5", draft4)
    with pytest.raises(ConfigError):
        assert_json_schema("5", {"maximum": 5, "exclusiveMaximum": True})


# -- length -------------------------------------------------------------------------------------------


def test_max_chars(recorder):
    assert assert_max_length("hello", max_chars=5) == {"chars": 5}
    with pytest.raises(AssertionError, match="6 characters > max_chars=5"):
        assert_max_length("hello!", max_chars=5)
    assert [(m.name, m.value, m.passed) for m in recorder.metrics] == [
        ("length_chars", 5.0, True),
        ("length_chars", 6.0, False),
    ]


def test_max_length_bad_arguments():
    with pytest.raises(ConfigError, match="max_chars and/or max_tokens"):
        assert_max_length("x")
    with pytest.raises(ConfigError, match="non-negative integer"):
        assert_max_length("x", max_chars=-1)
    with pytest.raises(ConfigError, match="str"):
        assert_max_length(None, max_chars=3)  # type: ignore[arg-type]


def test_max_tokens_uses_litellm_token_counter(recorder):
    pytest.importorskip("litellm")
    text = "The quick brown fox jumps over the lazy dog. " * 4
    counts = assert_max_length(text, max_tokens=100, model="gpt-4o")
    assert 20 <= counts["tokens"] <= 60  # ~10 tokens per sentence for a BPE tokenizer
    with pytest.raises(AssertionError, match="tokens"):
        assert_max_length(text, max_tokens=counts["tokens"] - 1, model="gpt-4o")
    token_metrics = [m for m in recorder.metrics if m.name == "length_tokens"]
    assert [m.passed for m in token_metrics] == [True, False]


# -- banned content -----------------------------------------------------------------------------------


def test_banned_phrases_are_case_insensitive_whole_words(recorder):
    assert_no_banned("Improve your skills daily", phrases=["kill"])
    with pytest.raises(AssertionError, match=r"phrase 'guaranteed returns' at 8-27"):
        assert_no_banned("We have GUARANTEED\n returns!", phrases=["guaranteed returns"])
    assert [m.value for m in recorder.metrics] == [0.0, 1.0]


def test_banned_patterns(recorder):
    with pytest.raises(AssertionError) as info:
        assert_no_banned("token sk-abc123XYZ and sk-zzz999", patterns=[r"sk-[A-Za-z0-9]{6,}", re.compile("nope")])
    assert "banned content found (2)" in str(info.value)
    assert recorder.metrics[0].details["hits"][1]["start"] == 23


def test_banned_bad_arguments():
    with pytest.raises(ConfigError, match="not a valid regex"):
        assert_no_banned("x", patterns=["(unclosed"])
    with pytest.raises(ConfigError, match="at least one"):
        assert_no_banned("x")
    with pytest.raises(ConfigError, match="lists"):
        assert_no_banned("x", phrases="bad")  # type: ignore[arg-type]


# -- refusals -----------------------------------------------------------------------------------------

REFUSALS = [
    "I'm sorry, but I can't help with that request.",
    "I can\u2019t assist with creating malware.",
    "As an AI language model, I do not have opinions.",
    "I cannot  provide instructions for that.",
    "Unfortunately I am unable to share personal data.",
    "I can not comply with this request.",
    "I must decline to answer.",
]
ANSWERS = [
    "Sure! Here is a Python function that reverses a string.",
    "The capital of France is Paris.",
    "You can't go wrong with a simple for loop here.",
    "Sorry for the delay: the answer is 42.",
    "I can help with that. First, open the settings page.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_refusals_are_detected(text):
    assert is_refusal(text)


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_are_not_refusals(text):
    assert not is_refusal(text)


def test_refusal_assertions_record_metric(recorder):
    assert_refusal(REFUSALS[0])
    assert_not_refusal(ANSWERS[0])
    with pytest.raises(AssertionError, match="expected a refusal"):
        assert_refusal(ANSWERS[1])
    with pytest.raises(AssertionError, match="the model refused"):
        assert_not_refusal(REFUSALS[1])
    assert [(m.value, m.passed) for m in recorder.metrics] == [(1.0, True), (0.0, True), (0.0, False), (1.0, False)]
    assert recorder.metrics[3].details["markers"] == ["i can't assist"]
    assert all(marker == marker.lower() for marker in REFUSAL_MARKERS)
