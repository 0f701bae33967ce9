"""Semantic similarity of two texts: cosine of their embeddings.

``assert_similar(actual, expected, min_score=0.7)`` is the test-facing call; ``similarity`` and the batched
``similarities`` only compute.  The embedder used when none is passed is, by default, the packaged
all-MiniLM-L6-v2 behind the on-disk :class:`~pytest_llmops.scorers.embeddings.cache.EmbeddingCache`; the plugin
changes it with :func:`set_default_embedder` (ini option / fixture).

``embedder=`` accepts a spec string (``"sentence-transformers"``, ``"sentence-transformers:/model/dir"``,
``"lexical"``), which is resolved once per process and cached on disk like the default, or an
:class:`~pytest_llmops.scorers.embeddings.base.Embedder` object, which is used exactly as given (wrap it in a
``CachedEmbedder`` yourself to cache it).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..errors import ConfigError
from ..record.recorder import record_metric
from .embeddings.backends import get_embedder
from .embeddings.base import Embedder, is_embedder, parse_spec
from .embeddings.cache import EmbeddingCache

_lock = threading.Lock()
_default_spec: str | Embedder | None = None
_cache_dir: str | os.PathLike[str] | None = None
_use_cache = True
_cache: Any = None
_resolved: dict[object, Embedder] = {}
_test_provider: Callable[[], str | Embedder | None] | None = None


def set_test_embedder_provider(provider: Callable[[], str | Embedder | None] | None) -> None:
    """Let the pytest plugin choose the embedder of the running test (marker, ``llmops_embedder`` fixture).

    The provider is asked only when a scorer gets ``embedder=None``; returning ``None`` means the default.
    """
    global _test_provider
    _test_provider = provider


def set_default_embedder(
    spec_or_embedder: str | Embedder | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> None:
    """Choose the embedder used when a scorer gets ``embedder=None``, and where spec strings cache vectors.

    ``None`` restores the built-in default (packaged MiniLM).  A spec string is checked now and built on first
    use; ``cache_dir`` defaults to ``$LLMOPS_CACHE_DIR`` or ``./.llmops_cache``; ``use_cache=False`` turns
    the on-disk cache off for spec strings.  An Embedder object is used as given.
    """
    global _default_spec, _cache_dir, _use_cache, _cache
    if isinstance(spec_or_embedder, str):
        parse_spec(spec_or_embedder)  # raises ConfigError on a bad spec, before any test runs
    elif spec_or_embedder is not None and not is_embedder(spec_or_embedder):
        get_embedder(spec_or_embedder)  # raises the descriptive ConfigError
    with _lock:
        if _cache is not None:
            _cache.close()
        _default_spec = spec_or_embedder
        _cache_dir = cache_dir
        _use_cache = bool(use_cache)
        _cache = None
        _resolved.clear()


def resolve_embedder(embedder: str | Embedder | None = None) -> Embedder:
    """The embedder a scorer should use for its ``embedder=`` argument (see the module docstring)."""
    global _cache
    if embedder is None and _test_provider is not None:
        embedder = _test_provider()
    if embedder is None:
        embedder = _default_spec
        if embedder is None:
            embedder = "sentence-transformers"
    if not isinstance(embedder, str):
        return get_embedder(embedder)
    key = parse_spec(embedder)
    with _lock:
        found = _resolved.get(key)
        if found is None:
            if _use_cache and _cache is None:
                _cache = EmbeddingCache(_cache_dir)
            found = get_embedder(embedder, cache=_cache if _use_cache else None)
            _resolved[key] = found
    return found


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors, clamped to [-1, 1]; 0.0 when either is the zero vector."""
    if len(a) != len(b):
        raise ConfigError(f"cannot compare vectors of different sizes ({len(a)} vs {len(b)}); mixed embedders?")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norm == 0.0:
        return 0.0
    return max(-1.0, min(1.0, dot / norm))


def similarities(pairs: Iterable[tuple[str, str]], *, embedder: str | Embedder | None = None) -> list[float]:
    """Cosine similarity of each ``(a, b)`` pair; all unique texts are embedded in a single call."""
    pairs = list(pairs)
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise ConfigError(f"similarities(): pair {index} must be a (str, str) tuple, got {pair!r:.120}")
    if not pairs:
        return []
    model = resolve_embedder(embedder)
    texts = list(dict.fromkeys(text for pair in pairs for text in pair))
    vectors = model.embed(texts)
    if len(vectors) != len(texts):
        raise ConfigError(
            f"embedder {model.backend}:{model.model} returned {len(vectors)} vectors for {len(texts)} texts"
        )
    by_text = dict(zip(texts, vectors, strict=True))
    return [cosine(by_text[a], by_text[b]) for a, b in pairs]


def similarity(a: str, b: str, *, embedder: str | Embedder | None = None) -> float:
    """Cosine similarity of the embeddings of ``a`` and ``b`` (1.0 = same meaning, ~0 = unrelated)."""
    return similarities([(a, b)], embedder=embedder)[0]


def embedder_details(model: Embedder) -> dict[str, str]:
    """What identifies the scores of ``model`` in a run record."""
    return {"backend": str(model.backend), "model": str(model.model), "revision": str(model.revision)}


def shorten(text: str, limit: int = 200) -> str:
    """``repr`` of ``text``, cut in the middle of overlong texts so failure messages stay readable."""
    if len(text) > limit:
        text = text[: limit - 40] + " [...] " + text[-30:]
    return repr(text)


def check_min_score(value: Any, *, where: str, name: str = "min_score", low: float = -1.0, high: float = 1.0) -> float:
    """``value`` as a float if it is a finite number in [low, high], else ConfigError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {name} must be a number between {low:g} and {high:g}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{where}: {name} {value!r} is outside [{low:g}, {high:g}]")
    return float(value)


def assert_similar(
    actual: str,
    expected: str,
    *,
    min_score: float = 0.7,
    embedder: str | Embedder | None = None,
) -> float:
    """Fail unless ``actual`` means about the same as ``expected``; record and return the similarity.

    Records metric ``similarity`` (bound ``min=min_score``, details: backend, model, revision) on the running
    test.  Raises AssertionError showing the score, the threshold and both texts when the score is lower.
    """
    min_score = check_min_score(min_score, where="assert_similar")
    if not isinstance(expected, str):
        raise ConfigError(f"assert_similar: expected must be a string, got {type(expected).__name__} {expected!r:.80}")
    if not isinstance(actual, str):
        raise AssertionError(f"assert_similar: the actual output is {type(actual).__name__} {actual!r:.80}, not text")
    model = resolve_embedder(embedder)
    score = similarity(actual, expected, embedder=model)
    details = embedder_details(model)
    result = record_metric("similarity", score, min=min_score, scorer="similarity", details=details)
    if result.passed is False:
        raise AssertionError(
            f"similarity {score:.3f} < min_score {min_score:g} ({details['backend']}:{details['model']})\n"
            f"  actual:   {shorten(actual)}\n"
            f"  expected: {shorten(expected)}"
        )
    return score
