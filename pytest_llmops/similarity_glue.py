"""pytest glue for similarity scorers: which embedder a test uses, and where vectors are cached.

Resolution order for ``assert_similar(..., embedder=None)`` inside a test: the ``llmops_embedder`` fixture
(override it in a conftest to point at a local model directory), whose default value is the test's
``@pytest.mark.embedder(spec)`` or else ``--llmops-embedder`` / ini ``llmops_embedder``.  The fixture is only
evaluated when a scorer needs it, so tests that do not compare texts pay nothing.
``litellm:MODEL`` embeds through the model-call layer: replayed, metered, budgeted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from .session import LlmopsSession


def configure(state: "LlmopsSession") -> None:
    from .scorers import similarity

    spec = state.option("embedder")
    cache_dir = None
    cache = getattr(state.config, "cache", None)
    if cache is not None:
        cache_dir = cache.mkdir("llmops-embeddings")
    if isinstance(spec, str) and spec.startswith("litellm:"):
        similarity.set_default_embedder(None, cache_dir=cache_dir)
    else:
        similarity.set_default_embedder(spec, cache_dir=cache_dir)


def provider_for(state: "LlmopsSession", item: "pytest.Item") -> Any:
    def provide() -> Any:
        request = getattr(item, "_request", None)
        if request is None:
            return None
        spec = request.getfixturevalue("llmops_embedder")
        if isinstance(spec, str) and spec == state.option("embedder") and not spec.startswith("litellm:"):
            return None  # the configured default, already set (and changeable with set_default_embedder)
        return resolve_spec(state, spec)

    return provide


_LITELLM_EMBEDDERS: dict[str, Any] = {}


def resolve_spec(state: "LlmopsSession", spec: Any) -> Any:
    if isinstance(spec, str) and spec.startswith("litellm:"):
        model = spec.split(":", 1)[1]
        embedder = _LITELLM_EMBEDDERS.get(model)
        if embedder is None:
            from .scorers.embedders import CallableEmbedder

            def embed(texts: list[str]) -> list[list[float]]:
                return state.engine().embed(texts, model=model).vectors

            embedder = _LITELLM_EMBEDDERS[model] = CallableEmbedder("litellm", model, model, embed)
        return embedder
    return spec
