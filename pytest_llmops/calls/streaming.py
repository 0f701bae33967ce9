"""Streamed calls: the chunks of a live stream recorded as the app consumes them, replayed as a stream.

:class:`LiveStream` wraps the stream a live call returned (litellm's ``CustomStreamWrapper``): every chunk goes
on to the app unchanged while a :class:`ChunkLog` keeps it (as a JSON dict) with the time to first token; when
the app has read the last chunk, ``on_done`` records and meters the whole call.  :class:`ReplayStream` yields a
recorded chunk list again, for ``for`` and ``async for`` alike.  :class:`TextStream` is what ``llm.stream()``
gives a test: the text deltas, and the assembled :class:`~.replies.Reply` once the stream is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from .metering import as_dict


class ChunkLog:
    """The chunks of one stream as JSON dicts, and when the first one arrived."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.chunks: list[dict[str, Any]] = []
        self.raw: list[Any] = []
        self.ttft: float | None = None

    def add(self, chunk: Any, data: dict[str, Any] | None = None) -> None:
        if self.ttft is None:
            self.ttft = time.perf_counter() - self.started
        self.raw.append(chunk)
        self.chunks.append(data if data is not None else chunk_dict(chunk))

    def info(self) -> dict[str, Any]:
        return {"chunks": self.chunks, "ttft_s": round(self.ttft or 0.0, 4)}

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def chunk_dict(chunk: Any) -> dict[str, Any]:
    """A litellm stream chunk as the JSON dict a recording keeps (``None`` fields left out, like the wire)."""
    if isinstance(chunk, dict):
        return chunk
    dump = getattr(chunk, "model_dump", None)
    if dump is None:
        return as_dict(chunk)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dump(mode="json", exclude_none=True)


class LiveStream:
    """Passes a live stream's chunks through and calls ``on_done(log)`` once after the last one."""

    def __init__(self, inner: Any, started: float, on_done: Callable[[ChunkLog], None],
                 on_error: Callable[[Exception, ChunkLog], BaseException] | None = None) -> None:
        self._inner = inner
        self._iter: Any = None
        self.log = ChunkLog(started)
        self._on_done: Callable[[ChunkLog], None] | None = on_done
        self._on_error = on_error

    def _failed(self, exc: Exception) -> BaseException:
        """The error to raise for a stream that broke after its first chunk (a provider error, not the app's)."""
        self._on_done = None
        return exc if self._on_error is None else self._on_error(exc, self.log)

    def _done(self) -> None:
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(self.log)

    def __iter__(self) -> LiveStream:
        return self

    def __next__(self) -> Any:
        if self._iter is None:
            self._iter = iter(self._inner)
        try:
            chunk = next(self._iter)
        except StopIteration:
            self._done()
            raise
        except Exception as exc:
            error = self._failed(exc)
            if error is exc:
                raise
            raise error from exc
        self.log.add(chunk)
        return chunk

    def __aiter__(self) -> LiveStream:
        return self

    async def __anext__(self) -> Any:
        if self._iter is None:
            self._iter = self._inner.__aiter__()
        try:
            chunk = await self._iter.__anext__()
        except StopAsyncIteration:
            self._done()
            raise
        except Exception as exc:
            error = self._failed(exc)
            if error is exc:
                raise
            raise error from exc
        self.log.add(chunk)
        return chunk

    def __getattr__(self, name: str) -> Any:  # the wrapper's own attributes (model, response_uptil_now...)
        return getattr(self._inner, name)


class MalformedStream(json.JSONDecodeError):
    """A live stream that ended before any content, tool call or finish reason: a broken response (classified
    ``malformed`` and retried like a cut-off JSON body)."""

    def __init__(self, chunks: int) -> None:
        super().__init__(f"the stream ended after {chunks} chunk(s) without content, a tool call or a finish "
                         "reason (malformed or cut-off event stream)", "", 0)


def _meaningful(chunk: Any) -> bool:
    """A chunk that shows the stream is a real answer: content, a tool or function call, or a finish reason."""
    data = chunk if isinstance(chunk, dict) else None
    choices = data.get("choices") if data is not None else getattr(chunk, "choices", None)
    for choice in choices or []:
        get = choice.get if isinstance(choice, dict) else (lambda name, c=choice: getattr(c, name, None))
        if get("finish_reason"):
            return True
        delta = get("delta")
        if delta is None:
            continue
        dget = delta.get if isinstance(delta, dict) else (lambda name, d=delta: getattr(d, name, None))
        if dget("content") or dget("tool_calls") or dget("function_call"):
            return True
    return False


class PrimedStream:
    """A live stream read up to its first meaningful chunk (inside the retry loop, so that a stream broken before
    its first token is retried like any failed request); iterating yields those chunks, then the rest."""

    def __init__(self, inner: Any, head: list[Any], rest: Any) -> None:
        self._inner = inner
        self._head = head
        self._rest = rest

    def __iter__(self) -> Any:
        yield from self._head
        yield from self._rest

    def __aiter__(self) -> Any:
        return self._agen()

    async def _agen(self) -> Any:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def prime(stream: Any) -> PrimedStream:
    """Read ``stream`` up to its first meaningful chunk; :class:`MalformedStream` when it ends before one."""
    rest = iter(stream)
    head = []
    for chunk in rest:
        head.append(chunk)
        if _meaningful(chunk):
            return PrimedStream(stream, head, rest)
    raise MalformedStream(len(head))


async def aprime(stream: Any) -> PrimedStream:
    rest = stream.__aiter__()
    head = []
    async for chunk in rest:
        head.append(chunk)
        if _meaningful(chunk):
            return PrimedStream(stream, head, rest)
    raise MalformedStream(len(head))


class ReplayStream:
    """A recorded stream: ``make(chunk_dict)`` per chunk, for ``for`` and ``async for``."""

    def __init__(self, chunks: Iterable[dict[str, Any]], make: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self._chunks = iter(list(chunks))
        self._make = make

    def __iter__(self) -> ReplayStream:
        return self

    def __next__(self) -> Any:
        chunk = next(self._chunks)
        return self._make(chunk) if self._make is not None else chunk

    def __aiter__(self) -> ReplayStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return self.__next__()
        except StopIteration:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self._chunks = iter(())

    async def aclose(self) -> None:
        self.close()


def delta_text(chunk: Any) -> str:
    """The text delta of a chat-completion chunk (object or dict), "" when it has none."""
    data = chunk if isinstance(chunk, dict) else None
    if data is None:
        choices = getattr(chunk, "choices", None) or []
        delta = getattr(choices[0], "delta", None) if choices else None
        return (getattr(delta, "content", None) or "") if delta is not None else ""
    choices = data.get("choices") or []
    delta = (choices[0] or {}).get("delta") or {} if choices else {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""


class TextStream:
    """``llm.stream()``: iterate the text deltas; afterwards ``reply`` is the assembled :class:`~.replies.Reply`."""

    def __init__(self, chunks: Any, finish: Callable[[], Any]) -> None:
        self._chunks = chunks
        self._iter: Any = None
        self._finish: Callable[[], Any] | None = finish
        self.parts: list[str] = []
        self.reply: Any = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def _done(self) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            self.reply = finish()

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        if self._iter is None:
            self._iter = iter(self._chunks)
        while True:
            try:
                chunk = next(self._iter)
            except StopIteration:
                self._done()
                raise
            text = delta_text(chunk)
            if text:
                self.parts.append(text)
                return text

    def __aiter__(self) -> TextStream:
        return self

    async def __anext__(self) -> str:
        if self._iter is None:
            self._iter = self._chunks.__aiter__()
        while True:
            try:
                chunk = await self._iter.__anext__()
            except StopAsyncIteration:
                self._done()
                raise
            text = delta_text(chunk)
            if text:
                self.parts.append(text)
                return text

    def read(self) -> Any:
        """Consume the whole stream; returns the assembled reply."""
        for _ in self:
            pass
        return self.reply

    async def aread(self) -> Any:
        async for _ in self:
            pass
        return self.reply
