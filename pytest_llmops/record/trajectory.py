"""A test's tool-call trajectory, derived from the model calls it made (requests and responses, as recorded).

Every tool call a model requested (``tool_calls`` of a chat response, ``tool_use`` blocks of an Anthropic
message, ``function_call`` items of a Responses answer) and every tool result the application sent back in a
later request (``role: tool`` messages, ``tool_result`` blocks, ``function_call_output`` items) becomes one
step: ``{index, tool, arguments, result, call_id, call, call_key, sample, turn}``.  ``call`` is the position,
in the test's list of calls, of the model call that asked for the tool.  A tool call that only appears in the
history an application sends (an app that asks for the tool choice as structured output and writes it back as
an assistant ``tool_calls`` message) is attributed to the previous model call of the same sample.  Pure
functions over plain dicts: no pytest, nothing heavy.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

#: the fields of one trajectory step, in the order they are stored
STEP_FIELDS = ("index", "tool", "arguments", "result", "call_id", "call", "call_key", "sample", "turn")


def parse_arguments(raw: Any) -> Any:
    """Tool arguments as sent: a JSON string is parsed (kept as text when it is not valid JSON)."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return {} if raw is None else raw


def _result_text(content: Any) -> Any:
    """A tool result's content: text parts joined, anything else kept as it is."""
    if isinstance(content, list) and all(isinstance(p, dict) and "text" in p for p in content):
        return "".join(str(p["text"]) for p in content)
    return content


def _requested_in_message(message: Any) -> Iterator[tuple[str | None, str, Any]]:
    """``(call id, tool name, raw arguments)`` of every tool call an assistant message holds (any API shape)."""
    if not isinstance(message, dict):
        return
    for call in message.get("tool_calls") or []:
        if isinstance(call, dict):
            function = call.get("function") or {}
            yield call.get("id"), str(function.get("name") or call.get("name") or "?"), function.get("arguments")
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        yield None, str(legacy.get("name") or "?"), legacy.get("arguments")
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_use":  # Anthropic messages
            yield block.get("id"), str(block.get("name") or "?"), block.get("input")
    if message.get("type") == "function_call":  # a Responses API output/input item
        yield message.get("call_id") or message.get("id"), str(message.get("name") or "?"), message.get("arguments")


def _results_in_message(message: Any) -> Iterator[tuple[str | None, str | None, Any]]:
    """``(call id, tool name if stated, result)`` of every tool result a request message holds."""
    if not isinstance(message, dict):
        return
    if message.get("role") in ("tool", "function"):
        yield message.get("tool_call_id"), message.get("name"), _result_text(message.get("content"))
    if message.get("type") == "function_call_output":
        yield message.get("call_id"), None, _result_text(message.get("output"))
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            yield block.get("tool_use_id"), None, _result_text(block.get("content"))


def response_messages(response: Any) -> list[dict[str, Any]]:
    """The assistant message(s) of a recorded response (chat choices, an Anthropic message, Responses output)."""
    if not isinstance(response, dict):
        return []
    choices = response.get("choices")
    if isinstance(choices, list) and choices:
        first = choices[0] if isinstance(choices[0], dict) else {}
        message = first.get("message")
        return [message] if isinstance(message, dict) else []
    if response.get("type") == "message" or isinstance(response.get("content"), list):
        return [response]
    output = response.get("output")
    return [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []


def _request_messages(request: Any) -> list[Any]:
    if isinstance(request, list):
        return request
    if isinstance(request, dict):
        for field in ("messages", "input"):
            if isinstance(request.get(field), list):
                return request[field]
    return []


class _Builder:
    """Accumulates the steps of one sample in order.

    A tool call in a model's response is always a new step (ids may be reused by some servers and apps); a tool
    call echoed in a later request's history joins the step with its id.  Only the messages a request adds to
    the previous request of the sample are read, so history sent again is not counted again.
    """

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}

    def request(self, call_id: str | None, tool: str, raw_args: Any, origin: dict[str, Any] | None,
                *, from_response: bool) -> None:
        if not from_response and call_id is not None and call_id in self.by_id:
            return
        step = {
            "index": 0, "tool": tool, "arguments": parse_arguments(raw_args), "result": None, "call_id": call_id,
            "call": None if origin is None else origin.get("call"),
            "call_key": None if origin is None else origin.get("key"),
            "sample": None if origin is None else origin.get("sample"),
            "turn": None if origin is None else origin.get("turn"),
        }
        self.steps.append(step)
        if call_id is not None:
            self.by_id[call_id] = step

    def result(self, call_id: str | None, tool: str | None, result: Any, exchange: dict[str, Any]) -> None:
        step = self.by_id.get(call_id) if call_id is not None else None
        if step is None and call_id is None:
            step = next((s for s in reversed(self.steps) if s["result"] is None and s["tool"] == tool), None)
        if step is None:  # a result for a call no recorded model asked for (history the app wrote itself)
            self.request(call_id, tool or "?", None, None, from_response=False)
            step = self.steps[-1]
            step["sample"], step["turn"] = exchange.get("sample"), exchange.get("turn")
        if step["result"] is None:
            step["result"] = result


def _new_messages(previous: list[Any], messages: list[Any]) -> list[Any]:
    """The messages of a request after the part it shares with the previous request (its resent history)."""
    shared = 0
    for old, new in zip(previous, messages, strict=False):
        if old != new:
            break
        shared += 1
    return messages[shared:]


def _group_by_sample(exchanges: Iterable[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for exchange in exchanges:
        groups.setdefault(exchange.get("sample"), []).append(exchange)
    return groups


def derive_trajectory(exchanges: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of a test's model calls, in order.

    ``exchanges``: one dict per completion-like call, in call order, with ``call`` (its position in the test's
    calls), ``key``, ``sample``, ``turn``, ``request`` (messages, or the recorded request dict) and
    ``response`` (the recorded response dict, or None).  Samples are kept apart: a call id seen in sample 0
    does not merge with the same id in sample 1.
    """
    steps: list[dict[str, Any]] = []
    for group in _group_by_sample(exchanges).values():
        builder = _Builder()
        previous: dict[str, Any] | None = None
        sent: list[Any] = []
        for exchange in group:
            messages = _request_messages(exchange.get("request"))
            for message in _new_messages(sent, messages):
                if isinstance(message, dict) and (message.get("role") == "assistant" or
                                                  message.get("type") == "function_call"):
                    for call_id, tool, raw in _requested_in_message(message):
                        builder.request(call_id, tool, raw, previous, from_response=False)
                for call_id, tool, result in _results_in_message(message):
                    builder.result(call_id, tool, result, exchange)
            for message in response_messages(exchange.get("response")):
                for call_id, tool, raw in _requested_in_message(message):
                    builder.request(call_id, tool, raw, exchange, from_response=True)
            previous, sent = exchange, messages
        steps.extend(builder.steps)
    for index, step in enumerate(steps):
        step["index"] = index
    return steps


def exchanges_from(calls: list[dict[str, Any]], entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Pair a test's metered calls with their recordings (``entries``: full replay key -> cassette entry).

    A metered call carries the first 12 characters of its replay key; calls without a recording (a live run
    with record mode ``off``, a failed call) are skipped.
    """
    by_prefix = {key[:12]: entry for key, entry in entries.items()}
    exchanges = []
    for position, call in enumerate(calls):
        if call.get("kind") not in ("completion", "messages", "responses") or call.get("error"):
            continue
        entry = by_prefix.get(str(call.get("key") or ""))
        if entry is None:
            continue
        exchanges.append({
            "call": position, "key": call.get("key"), "sample": call.get("sample"), "turn": call.get("turn"),
            "request": entry.get("request"), "response": entry.get("response"),
        })
    return exchanges
