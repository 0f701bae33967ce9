"""pytest glue for similarity scorers: which embedder a test uses, and where vectors are cached.

Resolution order for ``assert_similar(..., embedder=None)`` inside a test: the ``llmops_embedder`` fixture
(override it in a conftest to point at a local model directory), whose default value is the test's
``@pytest.mark.embedder(spec)`` or else ``--llmops-embedder`` / ini ``llmops_embedder``.  The fixture is only
evaluated when a scorer needs it, so tests that do not compare texts pay nothing.
``litellm:MODEL`` embeds through the model-call layer: replayed, metered, budgeted.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from ..errors import ConfigError
from .state import RunState

_SCORER_MODULE = "pytest_llmops.scorers.similarity"


def setup_if_used(state: RunState) -> None:
    """At configure: set up now if the scorers are already imported or a non-default embedder is configured."""
    if _SCORER_MODULE in sys.modules or state.option("embedder") != "sentence-transformers":
        configure(state)


def configure(state: RunState) -> None:
    if state.similarity_ready:
        return
    from ..scorers import similarity

    spec = state.option("embedder")
    cache_dir = None
    cache = getattr(state.config, "cache", None)
    if cache is not None:
        cache_dir = cache.mkdir("llmops-embeddings")
    if isinstance(spec, str) and spec.startswith("litellm:"):
        similarity.set_default_embedder(None, cache_dir=cache_dir)
    else:
        similarity.set_default_embedder(spec, cache_dir=cache_dir)
    state.similarity_ready = True


def begin_test(state: RunState, item: pytest.Item) -> None:
    if not state.similarity_ready and _SCORER_MODULE in sys.modules:
        configure(state)
    if state.similarity_ready:
        from ..scorers import similarity

        similarity.set_test_embedder_provider(provider_for(state, item))


def end_test(state: RunState) -> None:
    if state.similarity_ready:
        from ..scorers import similarity

        similarity.set_test_embedder_provider(None)


def embedder_for(state: RunState, request: pytest.FixtureRequest) -> Any:
    """The ``llmops_embedder`` fixture's default: the test's ``@pytest.mark.embedder`` or the run's option."""
    mark = request.node.get_closest_marker("embedder")
    return mark.args[0] if mark else state.option("embedder")


def provider_for(state: RunState, item: pytest.Item) -> Any:
    def provide() -> Any:
        request = getattr(item, "_request", None)
        if request is None:
            return None
        spec = request.getfixturevalue("llmops_embedder")
        if isinstance(spec, str) and spec == state.option("embedder") and not spec.startswith("litellm:"):
            return None  # the configured default, already set (and changeable with set_default_embedder)
        return resolve_spec(state, spec)

    return provide


def resolve_spec(state: RunState, spec: Any) -> Any:
    """A ``litellm:MODEL`` spec becomes an embedder over this run's call engine (one per model and run)."""
    if not (isinstance(spec, str) and spec.startswith("litellm:")):
        return spec
    model = spec.split(":", 1)[1]
    embedder = state.litellm_embedders.get(model)
    if embedder is None:
        from ..scorers.embedders import CallableEmbedder
        from .calls import activate_calls

        def embed(texts: list[str]) -> list[list[float]]:
            engine = activate_calls(state)  # starts this test's recording, like the llm fixture does
            if engine is None:
                raise ConfigError(f"embedder litellm:{model} is used outside a test; use it inside a test body")
            return engine.embed(texts, model=model).vectors

        embedder = state.litellm_embedders[model] = CallableEmbedder("litellm", model, model, embed)
    return embedder
