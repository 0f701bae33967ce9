"""Model calls captured at the HTTP layer (httpx): keyed, replayed as HTTP responses, or sent and recorded.

:func:`model_request` recognises a request to a model API from its path and JSON body and turns it into the
same ``(kind, model, payload, params)`` a litellm call has, so one replay key rule and one recording format
serve every route: a chat completion recorded through litellm (``openai/gpt-4o-mini``) replays the same request
sent by the ``openai`` SDK (``gpt-4o-mini`` to an OpenAI-compatible server).  Headers (keys) are never read.
The engine is passed in (typed ``Any``: this module and the engine do not import each other).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import sse
from .pending import PendingCall, preview

#: path suffix -> (API, call kind, payload field); the first match wins
_APIS: tuple[tuple[str, str, str, str], ...] = (
    ("/chat/completions", "chat", "completion", "messages"),
    ("/embeddings", "embeddings", "embedding", "input"),
    ("/completions", "completions", "text_completion", "prompt"),
    ("/responses", "responses", "responses", "input"),
    ("/messages", "anthropic", "messages", "messages"),
)
_DROP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class HttpStatusError(Exception):
    """A model API answered with an error status (metered as a failed call, passed on to the SDK as it is)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.kind = {429: "rate_limit", 401: "auth", 400: "bad_request"}.get(status, "server" if status >= 500 else
                                                                             str(status))


@dataclass
class HttpCall:
    request: Any  # httpx.Request
    api: str
    kind: str
    model: str
    payload: Any
    params: dict[str, Any]
    provider: str
    http: Any  # the httpx module (``httpx`` or ``httpx2``) the request came through


def model_request(request: Any, http: Any) -> HttpCall | None:
    """The model call an httpx request makes, or None (not a model API, or a body we cannot read)."""
    if request.method != "POST":
        return None
    path = request.url.path.rstrip("/")
    match = next((api for api in _APIS if path.endswith(api[0])), None)
    if match is None:
        return None
    _, api, kind, field_name = match
    if api == "anthropic" and "anthropic-version" not in request.headers:
        return None
    try:
        body = json.loads(request.content or b"null")
    except Exception:  # noqa: BLE001 - a streamed upload or a non-JSON body: not ours to key
        return None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or body.get(field_name) is None:
        return None
    provider = "anthropic" if api == "anthropic" else "openai"
    params = {name: value for name, value in body.items() if name not in ("model", field_name)}
    return HttpCall(request, api, kind, f"{provider}/{body['model']}", body[field_name], params, provider, http)


def _headers(response: Any) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in _DROP_HEADERS]


def replay_response(call: HttpCall, entry: dict[str, Any]) -> Any:
    """The HTTP response a recording amounts to: JSON, or the recorded event stream."""
    stream = entry.get("stream")
    if stream is not None:
        body = sse.encode(stream.get("chunks") or [], call.api)
        headers = {"content-type": "text/event-stream", "x-llmops-replayed": "1"}
    else:
        body = json.dumps(entry["response"], ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json", "x-llmops-replayed": "1"}
    return call.http.Response(200, headers=headers, content=body, request=call.request)


class _Tee:
    """The live event stream passed on to the SDK byte for byte, parsed on the way; ``done`` when it ends."""

    def __init__(self, response: Any, started: float, done: Callable[[list[dict[str, Any]], float], None]) -> None:
        self._response = response
        self._parser = sse.SseParser()
        self._started = started
        self._ttft: float | None = None
        self._done: Callable[[list[dict[str, Any]], float], None] | None = done

    def _feed(self, part: bytes) -> None:
        if self._parser.feed(part) and self._ttft is None:
            self._ttft = time.perf_counter() - self._started

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            self._parser.close()
            done(self._parser.chunks, self._ttft or 0.0)

    def __iter__(self) -> Any:
        for part in self._response.iter_bytes():
            self._feed(part)
            yield part
        self._finish()

    async def __aiter__(self) -> Any:
        async for part in self._response.aiter_bytes():
            self._feed(part)
            yield part
        self._finish()

    def close(self) -> None:  # SDKs stop reading at the end marker and close: what was parsed is the stream
        self._finish()
        self._response.close()

    async def aclose(self) -> None:
        self._finish()
        await self._response.aclose()


def _begin(engine: Any, call: HttpCall) -> tuple[PendingCall, float, Any]:
    """Key the call: ``(pending, started, replayed response or None)``."""
    started = time.perf_counter()
    pending = engine.prepare(call.kind, call.model, call.payload, call.params, "http", provider=call.provider)
    if pending.entry is None:
        engine.check_can_spend()
        return pending, started, None
    engine.replayed(pending, started)
    return pending, started, replay_response(call, pending.entry)


def _failed(engine: Any, pending: PendingCall, started: float, error: Exception) -> None:
    engine.forget_occurrence(pending)  # the SDK's retry of this request is the same occurrence again
    engine.meter(pending, latency=time.perf_counter() - started, cost=0.0, error=error)


def _prompt_text(call: HttpCall) -> str:
    return json.dumps([call.payload, call.params.get("system"), call.params.get("instructions")], ensure_ascii=False)


def _streamed(engine: Any, call: HttpCall, pending: PendingCall, started: float, response: Any) -> Any:
    def done(chunks: list[dict[str, Any]], ttft: float) -> None:
        data = sse.assemble(chunks, call.api, _prompt_text(call))
        engine.finish_live(pending, data, time.perf_counter() - started, 0,
                           stream={"chunks": chunks, "ttft_s": round(ttft, 4)})

    stream_type = type("TeeStream", (_Tee, call.http.SyncByteStream, call.http.AsyncByteStream), {})
    tee = stream_type(response, started, done)
    return call.http.Response(response.status_code, headers=_headers(response), stream=tee, request=call.request,
                              extensions=response.extensions)


def _answered(engine: Any, call: HttpCall, pending: PendingCall, started: float, response: Any, body: bytes) -> Any:
    if not 200 <= response.status_code < 300:
        _failed(engine, pending, started, HttpStatusError(response.status_code, body.decode("utf-8", "replace")))
    else:
        try:
            data = json.loads(body)
        except ValueError as exc:
            _failed(engine, pending, started, exc)
            data = None
        if isinstance(data, dict):
            engine.finish_live(pending, data, time.perf_counter() - started, 0)
    return call.http.Response(response.status_code, headers=_headers(response), content=body, request=call.request,
                              extensions=response.extensions)


def _is_stream(response: Any) -> bool:
    return 200 <= response.status_code < 300 and "event-stream" in response.headers.get("content-type", "")


def serve(engine: Any, call: HttpCall, send: Callable[[], Any]) -> Any:
    """Replay ``call`` from its recording, or send it (``send``) and record the answer."""
    pending, started, replayed = _begin(engine, call)
    if replayed is not None:
        return replayed
    try:
        with engine.ledger_slot():
            response = send()
    except Exception as exc:
        _failed(engine, pending, started, exc)
        raise
    if _is_stream(response):
        return _streamed(engine, call, pending, started, response)
    return _answered(engine, call, pending, started, response, response.read())


async def aserve(engine: Any, call: HttpCall, send: Callable[[], Awaitable[Any]]) -> Any:
    pending, started, replayed = _begin(engine, call)
    if replayed is not None:
        return replayed
    try:
        async with engine.ledger_aslot():
            response = await send()
    except Exception as exc:
        _failed(engine, pending, started, exc)
        raise
    if _is_stream(response):
        return _streamed(engine, call, pending, started, response)
    return _answered(engine, call, pending, started, response, await response.aread())


__all__ = ["HttpCall", "HttpStatusError", "aserve", "model_request", "preview", "replay_response", "serve"]
