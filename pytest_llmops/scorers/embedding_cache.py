"""Old import path; the code lives in scorers/embeddings/cache.py."""

from __future__ import annotations

from .embeddings.cache import (
    CACHE_DIR_ENV,
    CACHE_FILENAME,
    DEFAULT_DIRNAME,
    SCHEMA_VERSION,
    CachedEmbedder,
    EmbeddingCache,
    as_float32,
    decode_vector,
    default_cache_dir,
    encode_vector,
    text_key,
)

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_FILENAME",
    "DEFAULT_DIRNAME",
    "SCHEMA_VERSION",
    "CachedEmbedder",
    "EmbeddingCache",
    "as_float32",
    "decode_vector",
    "default_cache_dir",
    "encode_vector",
    "text_key",
]
