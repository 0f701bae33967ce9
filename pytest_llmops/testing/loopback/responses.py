"""OpenAI-shaped response bodies of the loopback server: answers, token counts, logprobs, streams, embeddings."""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import threading
import time
from typing import Any

EMBEDDING_DIM = 16
# word pieces keep their leading space (like BPE tokens); every digit is a token of its own (like
# llama tokenizers), so a judge's score digit "4" is one token whatever precedes it
TOKEN_RE = re.compile(r"\s?[^\W\d]+|\d|\s?[^\w\s]|\s+")


def count_tokens(text: str) -> int:
    """Deterministic token estimate: whitespace words × 4/3, rounded (0 for empty text)."""
    words = len(text.split())
    return int(math.floor(words * 4 / 3 + 0.5))


def message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return str(message)
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multi-part content: keep the text parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def last_user_text(body: dict) -> str:
    if "prompt" in body:  # legacy completions
        prompt = body["prompt"]
        return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message)
    return ""


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def default_responder(body: dict, *, counter: int = 0, seed: int = 0) -> str:
    """The built-in answer: a fixed function of the last user message at temperature 0, and a
    different answer per request (driven by ``counter`` and ``seed``) at temperature > 0.

    Like OpenAI, a request without ``temperature`` is sampled at temperature 1.
    """
    question = last_user_text(body)
    temperature = body.get("temperature")
    temperature = 1.0 if temperature is None else float(temperature)
    if temperature <= 0:
        return f"loopback answer {_digest(question)[:8]}: {question}"
    return f"loopback sample {_digest(seed, counter, question)[:8]}: {question}"


def error_body(message: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def response_id(prefix: str) -> str:
    return f"{prefix}-{_digest(time.time_ns(), threading.get_ident())[:24]}"


# -- chat completions -------------------------------------------------------------------------------
def assistant_message(answer: str | dict) -> dict:
    """The assistant message of an answer: text, a message dict (content / tool_calls), or a dict sent as JSON."""
    if isinstance(answer, str):
        return {"role": "assistant", "content": answer}
    if "content" in answer or "tool_calls" in answer:
        return {"role": "assistant", "content": None, **answer}
    return {"role": "assistant", "content": json.dumps(answer)}


def chat_choice(index: int, answer: str | dict, body: dict) -> dict:
    """One choice of a chat completion, with logprobs when the request asks for them."""
    message = assistant_message(answer)
    choice: dict = {"index": index, "message": message, "logprobs": None,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
    if body.get("logprobs"):
        top_n = int(body.get("top_logprobs") or 0)
        choice["logprobs"] = {"content": _logprobs_content(message.get("content") or "", top_n)}
    return choice


def chat_payload(model_name: str, text: str | None, choices: list[dict], prompt_tokens: int) -> dict:
    """A whole ``chat.completion`` body; without ``choices``, one choice answering ``text``."""
    if not choices:
        choices = [{"index": 0, "message": {"role": "assistant", "content": text},
                    "logprobs": None, "finish_reason": "stop"}]
    completion_tokens = sum(count_tokens(message_text(choice["message"])) for choice in choices)
    return {
        "id": response_id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "system_fingerprint": "fp_loopback",
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def stream_chunks(payload: dict, body: dict) -> list[dict]:
    """The ``chat.completion.chunk`` events of a completion, one per token (usage last when asked for)."""
    base = {"id": payload["id"], "object": "chat.completion.chunk", "created": payload["created"],
            "model": payload["model"], "system_fingerprint": payload["system_fingerprint"]}

    def chunk(index: int, delta: dict, finish_reason: str | None = None) -> dict:
        return {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]}

    chunks: list[dict] = []
    for choice in payload["choices"]:
        index = choice["index"]
        chunks.append(chunk(index, {"role": "assistant", "content": ""}))
        for token in TOKEN_RE.findall(choice["message"].get("content") or ""):
            chunks.append(chunk(index, {"content": token}))
        if choice["message"].get("tool_calls"):
            calls = [{"index": i, **call} for i, call in enumerate(choice["message"]["tool_calls"])]
            chunks.append(chunk(index, {"tool_calls": calls}))
        chunks.append(chunk(index, {}, choice["finish_reason"]))
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": payload["usage"]})
    return chunks


# -- legacy completions and embeddings ----------------------------------------------------------------
def legacy_completion(model_name: str, body: dict, answer: str | dict) -> dict:
    """A ``text_completion`` body answering ``body``'s prompt."""
    prompt = last_user_text(body)
    text = answer if isinstance(answer, str) else message_text(assistant_message(answer))
    prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(text)
    return {
        "id": response_id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model_name,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def embeddings(model_name: str, body: dict) -> dict:
    """Deterministic unit vectors (``dimensions`` long, default 16), one per input."""
    raw = body.get("input", "")
    inputs = [raw] if isinstance(raw, str) else list(raw)
    if inputs and all(isinstance(item, int) for item in inputs):  # one pre-tokenised input
        inputs = [inputs]
    texts = [item if isinstance(item, str) else " ".join(map(str, item)) for item in inputs]
    dim = int(body.get("dimensions") or EMBEDDING_DIM)
    tokens = sum(count_tokens(text) for text in texts)
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": _unit_vector(text, dim)}
                 for i, text in enumerate(texts)],
        "model": model_name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _unit_vector(text: str, dim: int) -> list[float]:
    raw = b""
    block = 0
    while len(raw) < dim * 4:
        raw += hashlib.sha256(f"{block}\x1f{text}".encode()).digest()
        block += 1
    ints = struct.unpack(f"<{dim}I", raw[: dim * 4])
    values = [(value / 0xFFFFFFFF) * 2.0 - 1.0 for value in ints]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


# -- logprobs ---------------------------------------------------------------------------------------
def _score_logprobs(chosen: str, count: int) -> list[dict]:
    """A peaked distribution over the score digits "1".."5" around ``chosen``."""
    weights = {}
    for digit in "12345":
        distance = abs(int(digit) - int(chosen))
        weights[digit] = {0: 0.70, 1: 0.12, 2: 0.03}.get(distance, 0.01)
    total = sum(weights.values())
    ranked = sorted(weights.items(), key=lambda item: -item[1])[:count]
    return [
        {"token": digit, "logprob": math.log(weight / total), "bytes": list(digit.encode())}
        for digit, weight in ranked
    ]


def _score_token_index(text: str, tokens: list[str]) -> int | None:
    """Index of the token holding a JSON ``"score": N`` digit, if the text has one."""
    match = re.search(r'"score"\s*:\s*"?([1-5])\b', text)
    if not match:
        return None
    position = 0
    for index, token in enumerate(tokens):
        if position <= match.start(1) < position + len(token):
            return index if token.strip() == match.group(1) else None
        position += len(token)
    return None


def _logprobs_content(text: str, top_n: int) -> list[dict]:
    tokens = TOKEN_RE.findall(text)
    score_index = _score_token_index(text, tokens)
    content = []
    for index, token in enumerate(tokens):
        if index == score_index:
            top = _score_logprobs(token.strip(), max(top_n, 5) if top_n else 5)
            logprob = next(item["logprob"] for item in top if item["token"] == token.strip())
        else:
            logprob = -0.01 if index else -0.05
            top = [{"token": token, "logprob": logprob, "bytes": list(token.encode())}][:top_n]
            if index == 0 and top_n > 1:
                top.append({"token": " ", "logprob": -4.0, "bytes": [32]})
        content.append({"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": top})
    return content
