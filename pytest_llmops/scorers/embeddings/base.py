"""The embedder contract shared by every backend: the Embedder protocol, vector normalisation, spec strings.

Every backend satisfies the small :class:`Embedder` protocol: it names itself (``backend``, ``model`` and a
content-derived ``revision``, which together key the on-disk cache) and turns a list of texts into a list of
L2-normalized vectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ...errors import ConfigError

EMBEDDINGS_EXTRA_HINT = "pip install 'pytest-llmops[embeddings]'"

#: The spec strings :func:`parse_spec` accepts (listed in its error message).
VALID_SPECS = ("sentence-transformers", "sentence-transformers:<model dir or cached hub name>", "lexical")


@runtime_checkable
class Embedder(Protocol):
    """What the similarity scorers need from an embedding backend."""

    @property
    def backend(self) -> str:
        """Backend family, e.g. ``"sentence-transformers"``."""
        ...

    @property
    def model(self) -> str:
        """Model name within the backend."""
        ...

    @property
    def revision(self) -> str:
        """Content-derived version of the model (weights hash, vectorizer config, API model version)."""
        ...

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalized vector per text, in order."""
        ...


def normalize_rows(vectors: Sequence[Sequence[float]], *, where: str) -> list[list[float]]:
    """Return the vectors scaled to unit length (a zero vector stays zero); reject non-finite values."""
    out: list[list[float]] = []
    for index, vector in enumerate(vectors):
        try:
            row = [float(x) for x in vector]
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}: vector {index} is not a sequence of numbers ({type(vector).__name__}); "
                "the embedding function must return one list of floats per text"
            ) from None
        if not all(math.isfinite(x) for x in row):
            raise ConfigError(f"{where}: vector {index} contains NaN or infinity; check the embedding backend")
        norm = math.sqrt(math.fsum(x * x for x in row))
        out.append([x / norm for x in row] if norm > 0 else row)
    return out


def check_texts(texts: Sequence[str], *, where: str) -> list[str]:
    """``texts`` as a list; ConfigError for a single string or a non-string item."""
    if isinstance(texts, str):
        raise ConfigError(f"{where}: embed() takes a list of texts, got a single string; wrap it in a list")
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(f"{where}: text {index} is {type(text).__name__}, not str")
    return texts


def is_embedder(obj: object) -> bool:
    """Duck-typed :class:`Embedder` check that, unlike ``isinstance``, never evaluates lazy properties."""
    names = dir(obj)
    return callable(getattr(obj, "embed", None)) and all(n in names for n in ("backend", "model", "revision"))


def parse_spec(spec: str) -> tuple[str, str]:
    """``(backend, argument)`` of an embedder spec string; ConfigError listing the valid forms if it is bad."""
    if isinstance(spec, str):
        name, _, arg = spec.strip().partition(":")
        name = name.strip().lower().replace("_", "-")
        arg = arg.strip()
        if name in ("sentence-transformers", "st"):
            return ("sentence-transformers", arg)
        if name == "lexical" and not arg:
            return ("lexical", "")
    raise ConfigError(
        f"unknown embedder {spec!r}; valid values: {', '.join(repr(s) for s in VALID_SPECS)}, "
        "or an Embedder object (e.g. CallableEmbedder)"
    )
