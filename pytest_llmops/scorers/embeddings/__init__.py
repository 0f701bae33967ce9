"""Text embeddings for the similarity and grounding scorers: the contract, the backends and the on-disk cache.

``base`` holds the :class:`Embedder` protocol and what every backend shares, ``model_dir`` the packaged
default model, ``cache`` the SQLite vector cache and :class:`CachedEmbedder`, ``backends`` the backends and
:func:`get_embedder`.  Import order follows that list; no module imports one later in it.
"""

from __future__ import annotations

from .backends import CallableEmbedder, LexicalEmbedder, SentenceTransformerEmbedder, get_embedder
from .base import Embedder, is_embedder, normalize_rows, parse_spec
from .cache import CachedEmbedder, EmbeddingCache

__all__ = [
    "CachedEmbedder",
    "CallableEmbedder",
    "Embedder",
    "EmbeddingCache",
    "LexicalEmbedder",
    "SentenceTransformerEmbedder",
    "get_embedder",
    "is_embedder",
    "normalize_rows",
    "parse_spec",
]
