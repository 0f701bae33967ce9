"""GenAI spans read as model calls, following the OpenTelemetry GenAI semantic conventions.

Message content is found, in this order, in

* ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON, "parts" messages) and
  ``gen_ai.system_instructions`` — the current conventions, written by ``opentelemetry-instrumentation-openai-v2``
  with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` and
  ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY`` (or ``SPAN_AND_EVENT``);
* span events ``gen_ai.{system,user,assistant,tool}.message`` and ``gen_ai.choice`` (earlier conventions);
* indexed attributes ``gen_ai.prompt.N.role/content`` and ``gen_ai.completion.N.*`` (OpenLLMetry);
* OpenInference's ``llm.input_messages.N.message.role/content`` and ``llm.output_messages.N.message.*``.

Request settings come from ``gen_ai.request.*`` (or OpenInference ``llm.invocation_parameters``) under the
names the OpenAI API uses, so the replay key of an imported call equals the key of the same request sent again.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from .model import ModelCall, Trace
from .otel import EPOCH, Span

#: gen_ai.request.<name> -> OpenAI request field
REQUEST_PARAMS = {
    "temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p", "seed": "seed",
    "frequency_penalty": "frequency_penalty", "presence_penalty": "presence_penalty", "stop_sequences": "stop",
    "choice.count": "n",
}
_EVENT_ROLES = {"gen_ai.system.message": "system", "gen_ai.user.message": "user",
                "gen_ai.assistant.message": "assistant", "gen_ai.tool.message": "tool"}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _tool_call(part: dict[str, Any]) -> dict[str, Any]:
    arguments = part.get("arguments")
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, separators=(",", ":"))
    return {"id": part.get("id"), "type": "function", "function": {"name": part.get("name"), "arguments": text}}


def from_parts(message: dict[str, Any]) -> dict[str, Any]:
    """A "parts" message of the GenAI conventions as an OpenAI chat message."""
    role = str(message.get("role", "user"))
    parts = [p for p in message.get("parts") or [] if isinstance(p, dict)]
    texts = [str(p.get("content", "")) for p in parts if p.get("type") == "text"]
    calls = [_tool_call(p) for p in parts if p.get("type") == "tool_call"]
    responses = [p for p in parts if p.get("type") == "tool_call_response"]
    if role == "tool" and responses:
        result = responses[0].get("response", responses[0].get("result"))
        return {"role": "tool", "tool_call_id": responses[0].get("id"),
                "content": result if isinstance(result, str) else json.dumps(result)}
    out: dict[str, Any] = {"role": role, "content": "".join(texts) if texts or not calls else None}
    if calls:
        out["tool_calls"] = calls
    return out


def _parts_messages(attrs: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
    inputs = _json(attrs.get("gen_ai.input.messages"))
    if not isinstance(inputs, list):
        return None
    messages = [from_parts(m) for m in inputs if isinstance(m, dict)]
    system = _json(attrs.get("gen_ai.system_instructions"))
    if isinstance(system, list) and system:
        text = "".join(str(p.get("content", "")) for p in system if isinstance(p, dict))
        messages.insert(0, {"role": "system", "content": text})
    outputs = _json(attrs.get("gen_ai.output.messages"))
    output = from_parts(outputs[0]) if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict) else None
    return messages, output


def _event_messages(span: Span) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
    messages: list[dict[str, Any]] = []
    output = None
    for event in span.events:
        attrs = event.get("attributes") or {}
        if event.get("name") in _EVENT_ROLES:
            message = {"role": _EVENT_ROLES[event["name"]], "content": attrs.get("content")}
            if _json(attrs.get("tool_calls")):
                message["tool_calls"] = _json(attrs["tool_calls"])
            messages.append(message)
        elif event.get("name") == "gen_ai.choice" and output is None:
            message = _json(attrs.get("message")) or {"content": attrs.get("content")}
            output = {"role": "assistant", **message}
    return (messages, output) if messages else None


def _indexed(attrs: dict[str, Any], prefix: str, suffix: str = "") -> list[dict[str, Any]]:
    messages = []
    index = 0
    while f"{prefix}.{index}{suffix}.role" in attrs or f"{prefix}.{index}{suffix}.content" in attrs:
        messages.append({"role": attrs.get(f"{prefix}.{index}{suffix}.role", "assistant"),
                         "content": attrs.get(f"{prefix}.{index}{suffix}.content")})
        index += 1
    return messages


def _indexed_messages(attrs: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
    for inputs, outputs, suffix in (("gen_ai.prompt", "gen_ai.completion", ""),
                                    ("llm.input_messages", "llm.output_messages", ".message")):
        messages = _indexed(attrs, inputs, suffix)
        if messages:
            answers = _indexed(attrs, outputs, suffix)
            return messages, (answers[0] if answers else None)
    return None


def _params(attrs: dict[str, Any]) -> dict[str, Any]:
    params = {field: attrs[f"gen_ai.request.{name}"] for name, field in REQUEST_PARAMS.items()
              if attrs.get(f"gen_ai.request.{name}") is not None}
    invocation = _json(attrs.get("llm.invocation_parameters"))
    if isinstance(invocation, dict):
        params = {**{k: v for k, v in invocation.items() if k not in ("model", "messages", "stream")}, **params}
    if isinstance(params.get("stop"), tuple):
        params["stop"] = list(params["stop"])
    if params.get("n") == 1:
        del params["n"]
    return params


def _usage(attrs: dict[str, Any]) -> dict[str, int]:
    prompt = attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens",
                                                               attrs.get("llm.token_count.prompt")))
    completion = attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens",
                                                                   attrs.get("llm.token_count.completion")))
    if prompt is None and completion is None:
        return {}
    prompt, completion = int(prompt or 0), int(completion or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def is_model_span(span: Span) -> bool:
    attrs = span.attributes
    operation = attrs.get("gen_ai.operation.name")
    return operation in ("chat", "text_completion", "generate_content") or (
        operation is None and ("gen_ai.request.model" in attrs or attrs.get("openinference.span.kind") == "LLM"))


def model_call(span: Span) -> ModelCall | None:
    """The chat call a GenAI span describes; None when it holds no message content."""
    attrs = span.attributes
    found = _parts_messages(attrs) or _event_messages(span) or _indexed_messages(attrs)
    if found is None:
        return None
    messages, output = found
    finish = attrs.get("gen_ai.response.finish_reasons")
    finish = finish[0] if isinstance(finish, (list, tuple)) and finish else attrs.get("llm.finish_reason")
    provider = next((str(attrs[k]) for k in ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
                     if attrs.get(k)), "openai")
    invocation = _json(attrs.get("llm.invocation_parameters"))
    requested = invocation.get("model") if isinstance(invocation, dict) else None  # OpenInference: llm.model_name
    latency = (span.end - span.start).total_seconds() if span.start and span.end else None  # is the answering one
    return ModelCall(
        model=str(attrs.get("gen_ai.request.model") or requested or attrs.get("llm.model_name") or "unknown"),
        provider=provider.split(".")[-1] if provider.startswith("az.") else provider,
        messages=messages, params=_params(attrs), output=output, finish_reason=finish,
        usage=_usage(attrs), response_model=attrs.get("gen_ai.response.model") or attrs.get("llm.model_name"),
        response_id=attrs.get("gen_ai.response.id"), span_id=span.span_id, started=span.start, latency_s=latency,
    )


def traces_from_spans(spans: list[Span], origin: str) -> tuple[list[Trace], int]:
    """One :class:`Trace` per trace id that has model calls with content; also how many had calls but no content."""
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_trace[span.trace_id].append(span)
    traces: list[Trace] = []
    without_content = 0
    for trace_id, members in by_trace.items():
        members.sort(key=lambda s: s.start or EPOCH)
        model_spans = [s for s in members if is_model_span(s)]
        calls = [c for c in (model_call(s) for s in model_spans) if c is not None]
        if not calls:
            without_content += bool(model_spans)
            continue
        attributes: dict[str, Any] = {}
        for span in reversed(members):  # the earliest span (usually the root) wins a conflict
            attributes.update(span.resource)
        for span in reversed(members):
            attributes.update(span.attributes)
        traces.append(Trace(
            trace_id=trace_id, calls=calls, source="otel", origin=origin, attributes=attributes,
            started=members[0].start,
            extra={"span_ids": [c.span_id for c in calls], "service": attributes.get("service.name")},
        ))
    return traces, without_content
