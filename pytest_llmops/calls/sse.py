"""Server-sent events of model APIs: parse a stream into its JSON events, write them back, assemble a response.

One recording format for every route: a streamed call keeps ``stream.chunks``, the JSON ``data`` of each event in
order (OpenAI chat/completions chunks, Responses API events, Anthropic Messages events — the last two carry their
event name in ``type``).  Replaying writes the same events back (``data: [DONE]`` ends an OpenAI chat stream).
"""

from __future__ import annotations

import json
import math
from typing import Any

#: APIs whose events are written with an ``event:`` line (their JSON has a ``type`` field)
_NAMED_EVENTS = frozenset({"responses", "anthropic"})


class SseParser:
    """Feed it the bytes of an event stream; ``chunks`` are the JSON events seen so far."""

    def __init__(self) -> None:
        self._buffer = ""
        self._decoder_tail = b""
        self.chunks: list[dict[str, Any]] = []

    def feed(self, data: bytes) -> int:
        """Parse what ``data`` completes; returns how many events it added."""
        data = self._decoder_tail + data
        try:
            text = data.decode("utf-8")
            self._decoder_tail = b""
        except UnicodeDecodeError as exc:  # a multi-byte character split between two reads
            text, self._decoder_tail = data[: exc.start].decode("utf-8"), data[exc.start:]
        self._buffer += text.replace("\r\n", "\n")
        before = len(self.chunks)
        while "\n\n" in self._buffer:
            event, self._buffer = self._buffer.split("\n\n", 1)
            self._event(event)
        return len(self.chunks) - before

    def close(self) -> None:
        if self._buffer.strip():
            self._event(self._buffer)
        self._buffer = ""

    def _event(self, event: str) -> None:
        data = "\n".join(line[5:].lstrip(" ") for line in event.split("\n") if line.startswith("data:"))
        if not data or data.strip() == "[DONE]":
            return
        try:
            value = json.loads(data)
        except ValueError:
            return
        if isinstance(value, dict):
            self.chunks.append(value)


def encode(chunks: list[dict[str, Any]], api: str) -> bytes:
    """The event stream of recorded chunks, as the API sends it."""
    named = api in _NAMED_EVENTS
    parts = []
    for chunk in chunks:
        head = f"event: {chunk.get('type')}\n" if named and chunk.get("type") else ""
        parts.append(f"{head}data: {json.dumps(chunk, ensure_ascii=False)}\n\n")
    if not named:
        parts.append("data: [DONE]\n\n")
    return "".join(parts).encode("utf-8")


def _estimate(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def _merge_tool_calls(calls: dict[int, dict[str, Any]], deltas: list[dict[str, Any]]) -> None:
    for delta in deltas:
        index = int(delta.get("index") or 0)
        call = calls.setdefault(index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
        call["id"] = delta.get("id") or call["id"]
        function = delta.get("function") or {}
        call["function"]["name"] += function.get("name") or ""
        call["function"]["arguments"] += function.get("arguments") or ""


def _chat(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    texts: dict[int, list[str]] = {}
    tools: dict[int, dict[int, dict[str, Any]]] = {}
    finish: dict[int, Any] = {}
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index") or 0)
            delta = choice.get("delta") or {}
            texts.setdefault(index, []).append(delta.get("content") or "")
            if delta.get("tool_calls"):
                _merge_tool_calls(tools.setdefault(index, {}), delta["tool_calls"])
            finish[index] = choice.get("finish_reason") or finish.get(index)
    choices = []
    for index in sorted(texts):
        message: dict[str, Any] = {"role": "assistant", "content": "".join(texts[index]) or None}
        if tools.get(index):
            message["tool_calls"] = [tools[index][i] for i in sorted(tools[index])]
        choices.append({"index": index, "message": message, "finish_reason": finish.get(index)})
    first = chunks[0] if chunks else {}
    return {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
            "model": first.get("model"), "choices": choices, "usage": usage}


def _anthropic(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {}
    text: list[str] = []
    usage: dict[str, Any] = {}
    for chunk in chunks:
        kind = chunk.get("type")
        if kind == "message_start":
            message = dict(chunk.get("message") or {})
            usage.update(message.get("usage") or {})
        elif kind == "content_block_delta":
            text.append((chunk.get("delta") or {}).get("text") or "")
        elif kind == "message_delta":
            usage.update(chunk.get("usage") or {})
            message.update({k: v for k, v in (chunk.get("delta") or {}).items() if v is not None})
    message["content"] = [{"type": "text", "text": "".join(text)}]
    message["usage"] = usage
    return message


def _responses(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    for chunk in reversed(chunks):
        if chunk.get("type") in ("response.completed", "response.incomplete") and chunk.get("response"):
            return dict(chunk["response"])
    deltas = [c.get("delta") or "" for c in chunks if c.get("type") == "response.output_text.delta"]
    return {"output_text": "".join(deltas)}


def _legacy(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    text = "".join((c.get("choices") or [{}])[0].get("text") or "" for c in chunks if c.get("choices"))
    usage = next((c["usage"] for c in reversed(chunks) if c.get("usage")), None)
    return {"object": "text_completion", "choices": [{"index": 0, "text": text}], "usage": usage}


_ASSEMBLERS = {"chat": _chat, "anthropic": _anthropic, "responses": _responses, "completions": _legacy}


def assemble(chunks: list[dict[str, Any]], api: str, prompt_text: str) -> dict[str, Any]:
    """The whole response a stream amounts to; token counts estimated (``usage.estimated``) when it sent none."""
    data = _ASSEMBLERS.get(api, _chat)(chunks)
    usage = data.get("usage")
    if not usage or not (usage.get("completion_tokens") or usage.get("output_tokens")):
        output = json.dumps([c.get("choices") or c.get("delta") for c in chunks], ensure_ascii=False)
        completion = _estimate("".join(_text_of(data)) or output)
        prompt = _estimate(prompt_text)
        data["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                         "estimated": True}
    return data


def _text_of(data: dict[str, Any]) -> list[str]:
    parts = [str((c.get("message") or {}).get("content") or c.get("text") or "") for c in data.get("choices") or []]
    parts += [str(b.get("text") or "") for b in data.get("content") or [] if isinstance(b, dict)]
    if data.get("output_text"):
        parts.append(str(data["output_text"]))
    return parts
