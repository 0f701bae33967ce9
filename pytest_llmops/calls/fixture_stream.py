"""``llm.stream()`` / ``llm.astream()``: a streamed chat completion through the call engine, as text deltas.

Replayed from the recorded chunks, or streamed live through litellm and recorded once the test has read the
last chunk; either way the :class:`~.streaming.TextStream` ends with the assembled :class:`~.replies.Reply`.
The engine is passed in (typed ``Any``: this module and the engine do not import each other).
"""

from __future__ import annotations

import time
from typing import Any

from .litellm_loader import load_litellm, original
from .metering import as_dict
from .pending import PendingCall, normalize_messages
from .replies import completion_reply
from .streaming import ChunkLog, LiveStream, ReplayStream, TextStream


def _replayed(model: str, pending: PendingCall, replayed: tuple[dict[str, Any], dict[str, Any]]) -> TextStream:
    entry = pending.entry or {}
    chunks = (entry.get("stream") or {}).get("chunks") or []
    return TextStream(ReplayStream(chunks), lambda: completion_reply(model, *replayed))


def _live(engine: Any, model: str, pending: PendingCall, response: Any, latency: float, retries: int) -> TextStream:
    result: dict[str, Any] = {}

    def done(log: ChunkLog) -> None:
        assembled = load_litellm().stream_chunk_builder(log.raw, messages=pending.payload)
        data = as_dict(assembled) if assembled is not None else {}
        result["data"], result["call"] = engine.finish_live(pending, data, log.elapsed(), retries, stream=log.info())

    live = LiveStream(response, time.perf_counter() - latency, done,
                      lambda exc, log: engine.stream_failed(pending, exc, log.elapsed(), retries))
    return TextStream(live, lambda: completion_reply(model, result.get("data") or {}, result["call"]))


def open_stream(engine: Any, messages: Any, model: str | None, params: dict[str, Any]) -> TextStream:
    model, pending, kwargs, replayed = engine.fixture_call(
        "completion", normalize_messages(messages), model, params, stream=True
    )
    if replayed is not None:
        return _replayed(model, pending, replayed)
    func = original("completion")
    response, latency, retries = engine.live_open(
        pending, lambda: func(model=model, messages=pending.payload, **kwargs)
    )
    return _live(engine, model, pending, response, latency, retries)


async def aopen_stream(engine: Any, messages: Any, model: str | None, params: dict[str, Any]) -> TextStream:
    model, pending, kwargs, replayed = engine.fixture_call(
        "completion", normalize_messages(messages), model, params, stream=True
    )
    if replayed is not None:
        return _replayed(model, pending, replayed)
    func = original("acompletion")
    response, latency, retries = await engine.alive_open(
        pending, lambda: func(model=model, messages=pending.payload, **kwargs)
    )
    return _live(engine, model, pending, response, latency, retries)
