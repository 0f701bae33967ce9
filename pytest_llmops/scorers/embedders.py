"""Old import path; the code lives in scorers/embeddings/ (base.py, model_dir.py, backends.py)."""

from __future__ import annotations

from typing import Any

from .embeddings import backends as _backends
from .embeddings.backends import (
    CallableEmbedder,
    LexicalEmbedder,
    SentenceTransformerEmbedder,
    get_embedder,
    model_loads,
)
from .embeddings.base import EMBEDDINGS_EXTRA_HINT, VALID_SPECS, Embedder, is_embedder, normalize_rows, parse_spec
from .embeddings.model_dir import DEFAULT_MODEL_NAME, DEFAULT_MODEL_PACKAGE, default_model_path, weights_revision

__all__ = [
    "DEFAULT_MODEL_NAME",
    "DEFAULT_MODEL_PACKAGE",
    "EMBEDDINGS_EXTRA_HINT",
    "VALID_SPECS",
    "CallableEmbedder",
    "Embedder",
    "LexicalEmbedder",
    "SentenceTransformerEmbedder",
    "default_model_path",
    "get_embedder",
    "is_embedder",
    "model_loads",
    "normalize_rows",
    "parse_spec",
    "weights_revision",
]


# MODEL_LOADS is a live counter: served by __getattr__, not copied, and so not in __all__.
def __getattr__(name: str) -> Any:
    """``MODEL_LOADS`` is a counter that changes: read it live from its module, never a stale copy."""
    if name == "MODEL_LOADS":
        return _backends.MODEL_LOADS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
