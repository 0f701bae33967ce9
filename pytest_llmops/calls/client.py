"""The ``llm`` fixture object: ``llm.complete(...)`` / ``llm.embed(...)`` through the call engine.

Every call goes through :class:`~pytest_llmops.calls.engine.CallEngine`: replayed from the test's cassette or
made live via litellm (with retries, the run ledger, pricing), and metered on the running test.  A replayed
``complete()`` does not import litellm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .keys import COMPLETION_ONLY_PARAMS
from .replies import EmbedReply, Reply

if TYPE_CHECKING:
    from .engine import CallEngine

__all__ = ["LLM", "EmbedReply", "Reply"]

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
        """Chat completion; ``messages`` may be a plain string (sent as one user message)."""
        return self._engine.complete(messages, model=model or self.model, **{**self.params, **params})

    async def acomplete(self, messages: Messages, *, model: str | None = None, **params: Any) -> Reply:
        return await self._engine.acomplete(messages, model=model or self.model, **{**self.params, **params})

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
