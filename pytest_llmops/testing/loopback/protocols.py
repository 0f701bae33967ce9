"""The loopback server's Anthropic Messages (``/v1/messages``) and OpenAI Responses (``/v1/responses``) bodies.

Both answer with the same text the chat endpoint gives for the same question, whole or as the event stream
the real API sends (``message_start`` … ``message_stop``; ``response.created`` … ``response.completed``).
"""

from __future__ import annotations

from typing import Any

from .responses import TOKEN_RE, count_tokens, message_text, response_id


def _text(answer: str | dict) -> str:
    if isinstance(answer, str):
        return answer
    import json

    return str(answer.get("content") or json.dumps(answer))


def responses_input_as_chat(body: dict) -> dict:
    """A Responses API body seen as a chat body (for the responder): ``input`` as the user's message."""
    raw = body.get("input")
    if isinstance(raw, str):
        messages = [{"role": "user", "content": raw}]
    else:
        messages = [m for m in raw or [] if isinstance(m, dict) and "role" in m]
    return {**body, "messages": messages}


def anthropic_message(model: str, body: dict, answer: str | dict) -> dict:
    text = _text(answer)
    prompt = sum(count_tokens(message_text(m)) for m in body.get("messages") or []) + count_tokens(
        str(body.get("system") or ""))
    return {
        "id": response_id("msg"), "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": count_tokens(text)},
    }


def anthropic_events(message: dict) -> list[dict]:
    text = message["content"][0]["text"]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {"input_tokens": message["usage"]["input_tokens"], "output_tokens": 1}}
    events: list[dict] = [{"type": "message_start", "message": start},
                          {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}}
               for token in TOKEN_RE.findall(text)]
    events += [{"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]}},
               {"type": "message_stop"}]
    return events


def responses_body(model: str, body: dict, answer: str | dict) -> dict:
    text = _text(answer)
    chat = responses_input_as_chat(body)
    prompt = sum(count_tokens(message_text(m)) for m in chat["messages"]) + count_tokens(
        str(body.get("instructions") or ""))
    item_id = response_id("msg")
    return {
        "id": response_id("resp"), "object": "response", "created_at": 0, "status": "completed", "model": model,
        "output": [{"type": "message", "id": item_id, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": prompt, "output_tokens": count_tokens(text),
                  "total_tokens": prompt + count_tokens(text),
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}},
    }


def responses_events(response: dict) -> list[dict]:
    item = response["output"][0]
    text = item["content"][0]["text"]
    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": pending},
                                    {"type": "response.output_item.added", "output_index": 0,
                                     "item": {**item, "status": "in_progress", "content": []}}]
    events += [{"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "content_index": 0,
                "delta": token} for token in TOKEN_RE.findall(text)]
    events += [{"type": "response.output_text.done", "item_id": item["id"], "output_index": 0, "content_index": 0,
                "text": text},
               {"type": "response.output_item.done", "output_index": 0, "item": item},
               {"type": "response.completed", "response": response}]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events
