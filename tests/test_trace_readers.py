"""The span readers on the other shapes GenAI traces come in: OTLP JSON with hex ids and typed values, span
events (earlier conventions), OpenLLMetry's indexed attributes, tool calls, system instructions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.assets.traces.cases import to_case, turns_of
from pytest_llmops.assets.traces.genai import model_call, traces_from_spans
from pytest_llmops.assets.traces.otel import Span, any_value, read_spans
from pytest_llmops.errors import GoldenError


def _kv(key: str, value: dict) -> dict:
    return {"key": key, "value": value}


def test_otlp_json_with_hex_ids_and_typed_values(tmp_path: Path) -> None:
    doc = {"resourceSpans": [{"resource": {"attributes": [_kv("service.name", {"stringValue": "shop"})]},
                              "scopeSpans": [{"spans": [{
                                  "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                                  "name": "chat", "startTimeUnixNano": "1764583200000000000",
                                  "endTimeUnixNano": "1764583201500000000",
                                  "attributes": [
                                      _kv("gen_ai.operation.name", {"stringValue": "chat"}),
                                      _kv("gen_ai.request.model", {"stringValue": "gpt-4o-mini"}),
                                      _kv("gen_ai.request.max_tokens", {"intValue": "64"}),
                                      _kv("gen_ai.request.stop_sequences", {"arrayValue": {"values": [
                                          {"stringValue": "END"}]}}),
                                      _kv("gen_ai.usage.input_tokens", {"intValue": "12"}),
                                      _kv("gen_ai.input.messages", {"stringValue": json.dumps(
                                          [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}])}),
                                      _kv("gen_ai.output.messages", {"stringValue": json.dumps(
                                          [{"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}])}),
                                  ]}]}]}]}
    path = tmp_path / "otlp.json"
    path.write_text(json.dumps(doc))
    [span] = read_spans(path)
    assert span.trace_id == "5b8efff798038103d269b633813fc60c" and span.resource == {"service.name": "shop"}
    assert span.start is not None and span.start.year == 2025
    [trace], empty = traces_from_spans([span], str(path))
    call = trace.calls[0]
    assert empty == 0 and call.params == {"max_tokens": 64, "stop": ["END"]} and call.answer == "Hello"
    assert call.latency_s == pytest.approx(1.5) and call.usage["prompt_tokens"] == 12
    assert any_value({"kvlistValue": {"values": [_kv("a", {"boolValue": True})]}}) == {"a": True}
    (tmp_path / "bad.json").write_text('{"spans": []}')
    with pytest.raises(GoldenError, match="not an OpenTelemetry span export"):
        read_spans(tmp_path / "bad.json")


def _span(attributes: dict, events: list | None = None, span_id: str = "1", start: str | None = None) -> Span:
    from pytest_llmops.assets.traces.otel import parse_time

    return Span("t" * 32, span_id, None, "chat", parse_time(start), None, attributes, events or [])


def test_span_events_and_indexed_attributes() -> None:
    events = [{"name": "gen_ai.system.message", "attributes": {"content": "Be brief."}},
              {"name": "gen_ai.user.message", "attributes": {"content": "Refund?"}},
              {"name": "gen_ai.choice", "attributes": {"message": json.dumps({"content": "30 days."})}}]
    call = model_call(_span({"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"}, events))
    assert call is not None
    assert call.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Refund?"}]
    assert call.answer == "30 days." and call.provider == "openai"
    indexed = {"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Hi",
               "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Hello"}
    call = model_call(_span(indexed))
    assert call is not None and call.messages == [{"role": "user", "content": "Hi"}] and call.answer == "Hello"
    assert model_call(_span({"gen_ai.request.model": "gpt-4o"})) is None  # no content captured


def test_tool_round_trip_stays_in_its_turn_and_system_instructions_lead() -> None:
    def parts(role: str, *items: dict) -> dict:
        return {"role": role, "parts": list(items)}

    text = lambda t: {"type": "text", "content": t}  # noqa: E731
    call_part = {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "refund"}}
    first = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
             "gen_ai.system_instructions": json.dumps([text("Use tools.")]),
             "gen_ai.input.messages": json.dumps([parts("user", text("Refund window?"))]),
             "gen_ai.output.messages": json.dumps([parts("assistant", call_part)])}
    second = {**first, "gen_ai.input.messages": json.dumps([
        parts("user", text("Refund window?")), parts("assistant", call_part),
        parts("tool", {"type": "tool_call_response", "id": "c1", "response": {"hits": ["kb-1"]}})]),
        "gen_ai.output.messages": json.dumps([parts("assistant", text("30 days (kb-1)."))])}
    spans = [_span(first, span_id="1", start="2026-12-01T08:00:00Z"),
             _span(second, span_id="2", start="2026-12-01T08:00:01Z")]
    [trace], _ = traces_from_spans(spans, "x")
    one, two = trace.calls
    assert one.messages[0] == {"role": "system", "content": "Use tools."}
    assert one.output["tool_calls"][0]["function"] == {"name": "search", "arguments": '{"q":"refund"}'}
    assert two.messages[-1] == {"role": "tool", "tool_call_id": "c1", "content": '{"hits": ["kb-1"]}'}
    assert [(user, len(calls)) for user, calls in turns_of(trace)] == [("Refund window?", 2)]
    case = to_case(trace, {})
    assert case is not None and case["input"] == "Refund window?" and case["expected"] == "30 days (kb-1)."
    assert "turns" not in case and case["id"].startswith("prod-")
