"""The HTTP request handler of the loopback server: routing, endpoints and fault injection on the wire."""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import protocols as _protocols
from . import responses as _responses
from .faults import fault_error
from .responses import count_tokens, error_body, message_text
from .state import ServerState


class Handler(BaseHTTPRequestHandler):
    """Serves one request against ``server_state`` (set on a per-server subclass)."""

    server_state: ServerState
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
            self._send_json(200, {"requests": state._requests_snapshot()})
        elif path == "/v1/models":
            state._record("GET", path, self._headers(), {})
            self._send_json(200, {"object": "list", "data": [self._model_card()]})
        elif path.startswith("/v1/models/"):
            self._send_json(200, self._model_card())
        else:
            self._send_json(404, error_body(f"unknown path {path}", "invalid_request_error", "not_found"))

    def do_POST(self) -> None:  # noqa: N802
        state = self.server_state
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_body()
        if body is None:
            self._send_json(400, error_body("request body is not a JSON object", "invalid_request_error", None))
            return
        if path == "/__control":
            try:
                self._send_json(200, state.apply_control(body))
            except (ValueError, KeyError, TypeError) as exc:
                self._send_json(400, error_body(f"bad control command: {exc}", "invalid_request_error", None))
            return
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/completions": self._legacy_completion,
            "/v1/embeddings": self._embeddings,
            "/v1/messages": self._anthropic_messages,
            "/v1/responses": self._responses_api,
        }
        route = routes.get(path)
        if route is None:
            self._send_json(404, error_body(f"unknown path {path}", "invalid_request_error", "not_found"))
            return
        state._record("POST", path, self._headers(), body)
        state._wait(state.latency_s)
        fault = state._next_fault()
        if fault is not None and self._serve_fault(fault, body):
            return
        try:
            route(body)
        except Exception as exc:  # a broken responder: tell the client instead of dropping the line
            self._send_json(500, error_body(f"loopback responder failed: {exc!r}", "server_error", None))

    def _serve_fault(self, kind: str, body: dict) -> bool:
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
            whole = json.dumps(_responses.chat_payload(state.model_name, "this body is cut off", [], 0))
            if body.get("stream"):  # an event stream whose first event is cut in half
                self._send_cut_stream(f"data: {whole[: len(whole) // 2]}")
            else:
                self._send_bytes(200, whole[: len(whole) // 2].encode())
            return True
        status, body, headers = fault_error(kind, state.retry_after_s)
        self._send_json(status, body, headers)
        return True

    # -- endpoints -------------------------------------------------------------------------------
    def _model_card(self) -> dict:
        return {"id": self.server_state.model_name, "object": "model", "created": 0, "owned_by": "loopback"}

    def _chat(self, body: dict) -> None:
        state = self.server_state
        prompt_tokens = sum(count_tokens(message_text(m)) for m in body.get("messages") or [])
        choices = []
        for index in range(max(1, int(body.get("n") or 1))):
            answer = state._answer_for(body)
            if isinstance(answer, dict) and "choices" in answer:
                self._send_json(200, answer)
                return
            choices.append(_responses.chat_choice(index, answer, body))
        payload = _responses.chat_payload(state.model_name, None, choices, prompt_tokens)
        if body.get("stream"):
            self._stream(_responses.stream_chunks(payload, body))
        else:
            self._send_json(200, payload)

    def _anthropic_messages(self, body: dict) -> None:
        message = _protocols.anthropic_message(self.server_state.model_name, body, self.server_state._answer_for(body))
        if body.get("stream"):
            self._stream(_protocols.anthropic_events(message), named=True)
        else:
            self._send_json(200, message)

    def _responses_api(self, body: dict) -> None:
        answer = self.server_state._answer_for(_protocols.responses_input_as_chat(body))
        response = _protocols.responses_body(self.server_state.model_name, body, answer)
        if body.get("stream"):
            self._stream(_protocols.responses_events(response), named=True)
        else:
            self._send_json(200, response)

    def _send_cut_stream(self, first_line: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(f"{first_line}\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _stream(self, chunks: list[dict], named: bool = False) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in chunks:
                event = f"event: {chunk['type']}\n" if named else ""
                self.wfile.write(f"{event}data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            if not named:  # Anthropic and Responses streams end with their last event, not [DONE]
                self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _legacy_completion(self, body: dict) -> None:
        answer = self.server_state._answer_for(body)
        if isinstance(answer, dict) and "choices" in answer:
            self._send_json(200, answer)
            return
        self._send_json(200, _responses.legacy_completion(self.server_state.model_name, body, answer))

    def _embeddings(self, body: dict) -> None:
        self._send_json(200, _responses.embeddings(self.server_state.model_name, body))
