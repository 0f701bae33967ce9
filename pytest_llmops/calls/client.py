"""The ``llm`` fixture object: ``llm.complete(...)`` / ``llm.embed(...)`` through the call engine.

Every call goes through :class:`~pytest_llmops.calls.engine.CallEngine`: replayed from the test's cassette or
made live via litellm (with retries, the run ledger, pricing), and metered on the running test.  A replayed
``complete()`` does not import litellm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .keys import COMPLETION_ONLY_PARAMS
from .replies import EmbedReply, Reply
from .streaming import TextStream

if TYPE_CHECKING:
    from .engine import CallEngine

__all__ = ["LLM", "EmbedReply", "Reply", "TextStream"]

Messages = list[dict[str, Any]] | str
Texts = list[str] | str


class LLM:
    """What tests use to call a model.  Defaults come from settings and the ``llm`` marker; calls override them."""

    def __init__(
        self, engine: CallEngine, *, model: str | None = None, embedding_model: str | None = None, **params: Any
    ) -> None:
        self._engine = engine
        self.model = model
        self.embedding_model = embedding_model
        self.params = dict(params)

    def with_options(self, *, model: str | None = None, **params: Any) -> LLM:
        """A copy with another default model and/or extra default params (e.g. ``temperature=0``)."""
        params = {**self.params, **params}
        return LLM(self._engine, model=model or self.model, embedding_model=self.embedding_model, **params)

    def complete(self, messages: Messages, *, model: str | None = None, **params: Any) -> Reply:
        """Chat completion; ``messages`` may be a plain string (sent as one user message).

        Rendered prompt versions (``prompt.render(...)``) carry the model and params their version declares:
        they apply unless this call passes its own; both win over the fixture's defaults.
        """
        model, params = self._resolve(messages, model, params)
        return self._engine.complete(messages, model=model, **params)

    async def acomplete(self, messages: Messages, *, model: str | None = None, **params: Any) -> Reply:
        model, params = self._resolve(messages, model, params)
        return await self._engine.acomplete(messages, model=model, **params)

    def stream(self, messages: Messages, *, model: str | None = None, **params: Any) -> TextStream:
        """Streamed chat completion: iterate the text deltas; afterwards ``.reply`` is the whole :class:`Reply`.

        Recorded chunk by chunk and replayed as the same chunk sequence (``complete(..., stream=True)`` streams
        the same way and returns the assembled reply).
        """
        from .fixture_stream import open_stream

        model, params = self._resolve(messages, model, params)
        return open_stream(self._engine, messages, model, params)

    async def astream(self, messages: Messages, *, model: str | None = None, **params: Any) -> TextStream:
        """``async for delta in await llm.astream(...)``."""
        from .fixture_stream import aopen_stream

        model, params = self._resolve(messages, model, params)
        return await aopen_stream(self._engine, messages, model, params)

    def _resolve(self, messages: Messages, model: str | None, params: dict[str, Any]) -> tuple[str | None,
                                                                                                dict[str, Any]]:
        """Call arguments > the rendered prompt's declared model and params > this client's defaults."""
        declared = getattr(messages, "call_params", None)
        carried: dict[str, Any] = dict(declared()) if callable(declared) else {}
        carried_model = carried.pop("model", None)
        return model or carried_model or self.model, {**self.params, **carried, **params}

    def embed(self, texts: Texts, *, model: str | None = None, **params: Any) -> list[list[float]]:
        """Embedding vectors, one per text (a single string gives a one-element list)."""
        params = {**self._embed_defaults(), **params}
        return self._engine.embed(texts, model=model or self.embedding_model, **params).vectors

    async def aembed(self, texts: Texts, *, model: str | None = None, **params: Any) -> list[list[float]]:
        params = {**self._embed_defaults(), **params}
        return (await self._engine.aembed(texts, model=model or self.embedding_model, **params)).vectors

    def _embed_defaults(self) -> dict[str, Any]:
        """Connection defaults (api_base, api_key...) apply to embeddings too; sampling params do not."""
        return {k: v for k, v in self.params.items() if k not in COMPLETION_ONLY_PARAMS}

    def __repr__(self) -> str:
        return f"LLM(model={self.model!r}, params={self.params!r})"
