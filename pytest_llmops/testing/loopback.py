"""An OpenAI-compatible model server on 127.0.0.1 for tests, demos and chaos runs (stdlib only).

:class:`LoopbackServer` answers ``/v1/chat/completions`` (plain and ``stream: true``), ``/v1/completions``,
``/v1/embeddings`` and ``/v1/models`` with real OpenAI-shaped JSON, so litellm / the ``openai`` client talk
to it exactly as to a provider.  It can be slowed down (``latency_s``), scripted (:meth:`queue_response`,
:meth:`queue_fault`) and made unreliable (``fault_rate``) with the faults a real provider shows:

====================  =============================================================================
fault kind            what the client sees
====================  =============================================================================
``429``               HTTP 429, ``Retry-After: <retry_after_s>`` header, OpenAI ``rate_limit_exceeded`` body
``500`` / ``503``     HTTP 500 / 503 with an OpenAI ``server_error`` body
``401``               HTTP 401 ``invalid_api_key`` body (never worth retrying)
``400``               HTTP 400 ``invalid_request_error`` body (never worth retrying)
``hang``              nothing for ``hang_s`` seconds, then a normal answer (client timeouts must fire)
``malformed``         HTTP 200 whose JSON body is cut in half
``drop``              the connection is closed without any response
====================  =============================================================================

Responses: a responder (or a queued answer) returns either a ``str`` (the assistant text) or a ``dict``:
a dict with a ``"choices"`` key is sent as the whole response body; a dict with a ``"content"`` or
``"tool_calls"`` key is the assistant message; any other dict is sent as its JSON text (handy for judges:
``queue_response({"score": 4, "reason": "..."})``).

Every request is kept in :attr:`LoopbackServer.requests` as the parsed JSON body plus the keys ``path``,
``method`` and ``headers`` (names lower-case).

Other processes steer a running server with ``POST /__control`` (see :meth:`LoopbackServer.apply_control`)
and read what it received with ``GET /__requests``.  Command line (prints the base URL as its first line)::

    python -m pytest_llmops.testing.loopback --port 0 --latency 0.3 --fault-rate 0.1 --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FAULT_KINDS", "LoopbackServer", "count_tokens", "default_responder", "main"]

FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "401", "400", "hang", "malformed", "drop")
_EMBEDDING_DIM = 16
# word pieces keep their leading space (like BPE tokens); every digit is a token of its own (like
# llama tokenizers), so a judge's score digit "4" is one token whatever precedes it
_TOKEN_RE = re.compile(r"\s?[^\W\d]+|\d|\s?[^\w\s]|\s+")

Responder = Callable[[dict], "str | dict"]


def count_tokens(text: str) -> int:
    """Deterministic token estimate: whitespace words × 4/3, rounded (0 for empty text)."""
    words = len(text.split())
    return int(math.floor(words * 4 / 3 + 0.5))


def _message_text(message: Any) -> str:
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


def _last_user_text(body: dict) -> str:
    if "prompt" in body:  # legacy completions
        prompt = body["prompt"]
        return prompt if isinstance(prompt, str) else " ".join(map(str, prompt))
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _message_text(message)
    return ""


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def default_responder(body: dict, *, counter: int = 0, seed: int = 0) -> str:
    """The built-in answer: a fixed function of the last user message at temperature 0, and a
    different answer per request (driven by ``counter`` and ``seed``) at temperature > 0.

    Like OpenAI, a request without ``temperature`` is sampled at temperature 1.
    """
    question = _last_user_text(body)
    temperature = body.get("temperature")
    temperature = 1.0 if temperature is None else float(temperature)
    if temperature <= 0:
        return f"loopback answer {_digest(question)[:8]}: {question}"
    return f"loopback sample {_digest(seed, counter, question)[:8]}: {question}"


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


def _logprobs_content(text: str, top_n: int) -> list[dict]:
    tokens = _TOKEN_RE.findall(text)
    score_index = None
    match = re.search(r'"score"\s*:\s*"?([1-5])\b', text)
    if match:
        position = 0
        for index, token in enumerate(tokens):
            if position <= match.start(1) < position + len(token):
                if token.strip() == match.group(1):
                    score_index = index
                break
            position += len(token)
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


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of concurrent clients would see refused
    # connections (and retry), which is not the server a concurrency test means to model
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, drops) are normal here; anything else is still printed."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """A local OpenAI-compatible server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        responder: Responder | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = ("429", "500", "hang", "malformed"),
        seed: int = 0,
        retry_after_s: float = 0.2,
        hang_s: float = 30.0,
        model_name: str = "loopback-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not host.startswith("127.") and host != "localhost":
            raise ValueError(f"LoopbackServer only listens on loopback addresses, not {host!r}")
        self.latency_s = float(latency_s)
        self.responder = responder
        self.fault_rate = float(fault_rate)
        self.fault_kinds = self._check_kinds(fault_kinds)
        self.seed = seed
        self.retry_after_s = float(retry_after_s)
        self.hang_s = float(hang_s)
        self.model_name = model_name
        self.host = host
        self.port = port
        self.requests: list[dict] = []
        self.base_url = ""
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._counter = 0
        self._faults: deque[str] = deque()
        self._responses: deque[str | dict] = deque()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"server_state": self})
        httpd = _QuietHTTPServer((self.host, self.port), handler)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}/v1"
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="loopback-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes sleeping "hang" and latency handlers
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the calling thread until :meth:`stop` (from a signal handler or another thread)."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.2)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------
    @staticmethod
    def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
        kinds = tuple(str(kind) for kind in kinds)
        unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; choose from {list(FAULT_KINDS)}")
        return kinds

    def queue_fault(self, kind: str, count: int = 1) -> None:
        """Serve ``kind`` to the next ``count`` model requests, before any random fault."""
        self._check_kinds([kind])
        with self._lock:
            self._faults.extend([kind] * count)

    def queue_response(self, content: str | dict) -> None:
        """Answer the next model request with ``content`` (FIFO), before the responder."""
        with self._lock:
            self._responses.append(content)

    def apply_control(self, command: dict) -> dict:
        """Apply a ``/__control`` command; keys (all optional): ``latency_s``, ``fault_rate``,
        ``fault_kinds``, ``retry_after_s``, ``hang_s``, ``queue_fault`` ({"kind", "count"} or a list of
        them), ``queue_response`` (a list of answers), ``clear_queues`` and ``clear_requests`` (bools).
        Returns the resulting settings."""
        if "fault_kinds" in command:
            self.fault_kinds = self._check_kinds(command["fault_kinds"])
        for key in ("latency_s", "fault_rate", "retry_after_s", "hang_s"):
            if key in command:
                setattr(self, key, float(command[key]))
        if command.get("clear_queues"):
            with self._lock:
                self._faults.clear()
                self._responses.clear()
        if command.get("clear_requests"):
            with self._lock:
                self.requests.clear()
        faults = command.get("queue_fault") or []
        for fault in [faults] if isinstance(faults, dict) else faults:
            self.queue_fault(fault["kind"], int(fault.get("count", 1)))
        for answer in command.get("queue_response") or []:
            self.queue_response(answer)
        return self.settings()

    def settings(self) -> dict:
        with self._lock:
            return {
                "base_url": self.base_url,
                "latency_s": self.latency_s,
                "fault_rate": self.fault_rate,
                "fault_kinds": list(self.fault_kinds),
                "retry_after_s": self.retry_after_s,
                "hang_s": self.hang_s,
                "queued_faults": list(self._faults),
                "queued_responses": len(self._responses),
                "request_count": len(self.requests),
            }

    # -- request handling (called from handler threads) ------------------------------------------
    def _record(self, method: str, path: str, headers: dict, body: dict) -> None:
        entry = dict(body)
        entry.update(path=path, method=method, headers=headers)
        with self._lock:
            self.requests.append(entry)

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.fault_rate > 0 and self.fault_kinds and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None

    def _answer_for(self, body: dict) -> str | dict:
        with self._lock:
            self._counter += 1
            counter = self._counter
            queued = self._responses.popleft() if self._responses else None
        if queued is not None:
            return queued
        if self.responder is not None:
            return self.responder(body)
        return default_responder(body, counter=counter, seed=self.seed)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _error_body(message: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server_state: LoopbackServer
    protocol_version = "HTTP/1.0"  # one request per connection: simple, and "drop" really drops
    server_version = "LoopbackOpenAI/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence request logging
        pass

    # -- plumbing --------------------------------------------------------------------------------
    def _send_json(self, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self._send_bytes(status, data, headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
            pass

    def _read_body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _headers(self) -> dict:
        return {name.lower(): value for name, value in self.headers.items()}

    # -- routing ---------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        state = self.server_state
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/__control":
            self._send_json(200, state.settings())
        elif path == "/__requests":
            with state._lock:
                snapshot = list(state.requests)
            self._send_json(200, {"requests": snapshot})
        elif path == "/v1/models":
            state._record("GET", path, self._headers(), {})
            self._send_json(200, {"object": "list", "data": [self._model_card()]})
        elif path.startswith("/v1/models/"):
            self._send_json(200, self._model_card())
        else:
            self._send_json(404, _error_body(f"unknown path {path}", "invalid_request_error", "not_found"))

    def do_POST(self) -> None:  # noqa: N802
        state = self.server_state
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_body()
        if body is None:
            self._send_json(400, _error_body("request body is not a JSON object", "invalid_request_error", None))
            return
        if path == "/__control":
            try:
                self._send_json(200, state.apply_control(body))
            except (ValueError, KeyError, TypeError) as exc:
                self._send_json(400, _error_body(f"bad control command: {exc}", "invalid_request_error", None))
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/completions": self._legacy_completion,
            "/v1/embeddings": self._embeddings,
        }
        route = routes.get(path)
        if route is None:
            self._send_json(404, _error_body(f"unknown path {path}", "invalid_request_error", "not_found"))
            return
        state._record("POST", path, self._headers(), body)
        state._wait(state.latency_s)
        fault = state._next_fault()
        if fault is not None and self._serve_fault(fault):
            return
        try:
            route(body)
        except Exception as exc:  # a broken responder: tell the client instead of dropping the line
            self._send_json(500, _error_body(f"loopback responder failed: {exc!r}", "server_error", None))

    def _serve_fault(self, kind: str) -> bool:
        """Serve ``kind``; True when the response is complete (False: carry on with a normal answer)."""
        state = self.server_state
        if kind == "hang":
            state._wait(state.hang_s)
            return False
        if kind == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if kind == "malformed":
            whole = json.dumps(self._chat_payload("this body is cut off", {}, [], 0))
            self._send_bytes(200, whole[: len(whole) // 2].encode())
            return True
        if kind == "429":
            self._send_json(
                429,
                _error_body(
                    "Rate limit reached for loopback-model: requests per min limited. Please try again later.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                {"Retry-After": f"{state.retry_after_s:g}"},
            )
        elif kind in ("500", "503"):
            self._send_json(
                int(kind),
                _error_body("The server had an error while processing your request.", "server_error", None),
            )
        elif kind == "401":
            self._send_json(
                401,
                _error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
            )
        elif kind == "400":
            self._send_json(
                400,
                _error_body("Invalid request: the loopback server was told to refuse it.",
                            "invalid_request_error", None),
            )
        return True

    # -- endpoints -------------------------------------------------------------------------------
    def _model_card(self) -> dict:
        return {"id": self.server_state.model_name, "object": "model", "created": 0, "owned_by": "loopback"}

    def _response_id(self, prefix: str) -> str:
        return f"{prefix}-{_digest(time.time_ns(), threading.get_ident())[:24]}"

    def _chat_payload(self, text: str | None, message: dict, choices: list[dict], prompt_tokens: int) -> dict:
        if not choices:
            choices = [{"index": 0, "message": {"role": "assistant", "content": text, **message},
                        "logprobs": None, "finish_reason": "stop"}]
        completion_tokens = sum(count_tokens(_message_text(choice["message"])) for choice in choices)
        return {
            "id": self._response_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server_state.model_name,
            "system_fingerprint": "fp_loopback",
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _chat(self, body: dict) -> None:
        state = self.server_state
        prompt_tokens = sum(count_tokens(_message_text(m)) for m in body.get("messages") or [])
        choices = []
        for index in range(max(1, int(body.get("n") or 1))):
            answer = state._answer_for(body)
            if isinstance(answer, dict) and "choices" in answer:
                self._send_json(200, answer)
                return
            message = self._assistant_message(answer)
            choice: dict = {"index": index, "message": message, "logprobs": None,
                            "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
            if body.get("logprobs"):
                top_n = int(body.get("top_logprobs") or 0)
                choice["logprobs"] = {"content": _logprobs_content(message.get("content") or "", top_n)}
            choices.append(choice)
        payload = self._chat_payload(None, {}, choices, prompt_tokens)
        if body.get("stream"):
            self._stream_chat(payload, body)
        else:
            self._send_json(200, payload)

    @staticmethod
    def _assistant_message(answer: str | dict) -> dict:
        if isinstance(answer, str):
            return {"role": "assistant", "content": answer}
        if "content" in answer or "tool_calls" in answer:
            return {"role": "assistant", "content": None, **answer}
        return {"role": "assistant", "content": json.dumps(answer)}

    def _stream_chat(self, payload: dict, body: dict) -> None:
        base = {"id": payload["id"], "object": "chat.completion.chunk", "created": payload["created"],
                "model": payload["model"], "system_fingerprint": payload["system_fingerprint"]}
        chunks: list[dict] = []
        for choice in payload["choices"]:
            index = choice["index"]
            chunks.append({**base, "choices": [{"index": index, "delta": {"role": "assistant", "content": ""},
                                                "logprobs": None, "finish_reason": None}]})
            for token in _TOKEN_RE.findall(choice["message"].get("content") or ""):
                chunks.append({**base, "choices": [{"index": index, "delta": {"content": token},
                                                    "logprobs": None, "finish_reason": None}]})
            if choice["message"].get("tool_calls"):
                calls = [{"index": i, **call} for i, call in enumerate(choice["message"]["tool_calls"])]
                chunks.append({**base, "choices": [{"index": index, "delta": {"tool_calls": calls},
                                                    "logprobs": None, "finish_reason": None}]})
            chunks.append({**base, "choices": [{"index": index, "delta": {}, "logprobs": None,
                                                "finish_reason": choice["finish_reason"]}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": payload["usage"]})
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _legacy_completion(self, body: dict) -> None:
        prompt = _last_user_text(body)
        answer = self.server_state._answer_for(body)
        if isinstance(answer, dict) and "choices" in answer:
            self._send_json(200, answer)
            return
        text = answer if isinstance(answer, str) else _message_text(self._assistant_message(answer))
        prompt_tokens, completion_tokens = count_tokens(prompt), count_tokens(text)
        self._send_json(200, {
            "id": self._response_id("cmpl"),
            "object": "text_completion",
            "created": int(time.time()),
            "model": self.server_state.model_name,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    def _embeddings(self, body: dict) -> None:
        raw = body.get("input", "")
        inputs = [raw] if isinstance(raw, str) else list(raw)
        if inputs and all(isinstance(item, int) for item in inputs):  # one pre-tokenised input
            inputs = [inputs]
        texts = [item if isinstance(item, str) else " ".join(map(str, item)) for item in inputs]
        dim = int(body.get("dimensions") or _EMBEDDING_DIM)
        tokens = sum(count_tokens(text) for text in texts)
        self._send_json(200, {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": _unit_vector(text, dim)}
                     for i, text in enumerate(texts)],
            "model": self.server_state.model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmops.testing.loopback",
        description="Run an OpenAI-compatible loopback model server; prints its base URL first.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every model request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of a random fault")
    parser.add_argument("--fault-kinds", default="429,500,hang,malformed",
                        help=f"comma-separated, from {','.join(FAULT_KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-after", type=float, default=0.2, help="Retry-After seconds sent with 429")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds a 'hang' fault stalls")
    parser.add_argument("--model-name", default="loopback-model")
    args = parser.parse_args(argv)
    try:
        server = LoopbackServer(
            latency_s=args.latency, fault_rate=args.fault_rate,
            fault_kinds=[kind for kind in args.fault_kinds.split(",") if kind],
            seed=args.seed, retry_after_s=args.retry_after, hang_s=args.hang,
            model_name=args.model_name, host=args.host, port=args.port,
        )
    except ValueError as exc:
        parser.error(str(exc))
    server.start()

    def _stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(server.base_url, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
