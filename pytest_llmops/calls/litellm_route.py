"""The app's own litellm calls (captured by :mod:`.capture`): replayed as litellm objects, or made live.

Streamed completions (``stream=True``, sync and async) are recorded chunk by chunk as the app reads them and
replayed as a stream of litellm ``ModelResponseStream`` chunks: the same sequence, so the assembled text is
byte-identical.  The engine is passed in (typed ``Any``: this module and the engine do not import each other).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import RecordingMissing
from .litellm_loader import load_litellm, quiet_litellm_warnings
from .metering import as_dict
from .pending import PendingCall, captured_request, preview
from .streaming import ChunkLog, LiveStream, ReplayStream

#: litellm response class that rebuilds a replayed captured call, per call kind
RESPONSE_TYPES = {
    "completion": "ModelResponse",
    "embedding": "EmbeddingResponse",
    "text_completion": "TextCompletionResponse",
}


def _rebuild(kind: str, entry: dict[str, Any]) -> Any:
    litellm = load_litellm()
    quiet_litellm_warnings()
    stream = entry.get("stream")
    if stream is not None:
        make = litellm.ModelResponseStream
        return ReplayStream(stream.get("chunks") or [], lambda chunk: make(**copy.deepcopy(chunk)))
    return getattr(litellm, RESPONSE_TYPES[kind])(**copy.deepcopy(entry["response"]))


def _captured(engine: Any, kind: str, kwargs: dict[str, Any]) -> tuple[PendingCall | None, Any]:
    """``(pending, None)`` to call live; ``(None, response)`` when replayed; ``(None, None)`` to pass through."""
    model, payload, params = captured_request(kind, kwargs)
    if not engine.in_test() or not isinstance(model, str) or payload is None:
        return None, None  # outside a test, or malformed: litellm raises its own error
    if params.get("stream") and kind != "completion":  # streamed legacy text completions: not recorded
        if engine.replay_only():
            raise RecordingMissing(f"a streaming {kind} call to {model!r} (prompt {preview(payload)!r}) cannot be "
                                   "replayed: only chat completions are recorded as streams; run with "
                                   "--llmops-record-mode=off to allow it live")
        return None, None
    started = time.perf_counter()
    pending = engine.prepare(kind, model, payload, params, "captured")
    if pending.entry is None:
        return pending, None
    engine.replayed(pending, started)
    return None, _rebuild(kind, pending.entry)


def _finish_stream(engine: Any, pending: PendingCall, retries: int) -> Callable[[ChunkLog], None]:
    def done(log: ChunkLog) -> None:
        litellm = load_litellm()
        assembled = litellm.stream_chunk_builder(log.raw, messages=pending.payload)
        data = as_dict(assembled) if assembled is not None else {}
        engine.finish_live(pending, data, log.elapsed(), retries, stream=log.info())

    return done


def _stream_error(engine: Any, pending: PendingCall, retries: int) -> Callable[[Exception, ChunkLog], BaseException]:
    return lambda exc, log: engine.stream_failed(pending, exc, log.elapsed(), retries)


def call(engine: Any, kind: str, original: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Serve a captured litellm call: a rebuilt litellm response when replayed, else the live response."""
    pending, replayed = _captured(engine, kind, kwargs)
    if replayed is not None:
        return replayed
    if pending is None:
        return original(**kwargs)
    live = engine._live_kwargs(kwargs)
    if pending.stream:
        response, latency, retries = engine.live_open(pending, lambda: original(**live))
        return LiveStream(response, time.perf_counter() - latency, _finish_stream(engine, pending, retries),
                          _stream_error(engine, pending, retries))
    response, _, _ = engine._live(pending, lambda: original(**live))
    return response


async def acall(engine: Any, kind: str, original: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> Any:
    pending, replayed = _captured(engine, kind, kwargs)
    if replayed is not None:
        return replayed
    if pending is None:
        return await original(**kwargs)
    live = engine._live_kwargs(kwargs)
    if pending.stream:
        response, latency, retries = await engine.alive_open(pending, lambda: original(**live))
        return LiveStream(response, time.perf_counter() - latency, _finish_stream(engine, pending, retries),
                          _stream_error(engine, pending, retries))
    response, _, _ = await engine._alive(pending, lambda: original(**live))
    return response
