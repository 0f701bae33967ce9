"""An on-disk embedding cache shared by runs and by concurrent processes (xdist workers).

Storage is one SQLite file (``embeddings.sqlite3``) in WAL mode with a busy timeout, so several processes
can read and write it at once.  Nothing is pickled: a vector is stored as its raw little-endian float32 bytes
next to its dimension, keyed by ``(backend, model, revision, sha256(text))``.  A new model revision (other
weights) therefore never reuses old vectors.

Vectors come back as float32 values widened to Python floats.  :class:`CachedEmbedder` rounds freshly
computed vectors the same way, so a score is bit-identical whether its vectors were computed or cached.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .base import Embedder, normalize_rows

CACHE_DIR_ENV = "LLMOPS_CACHE_DIR"
DEFAULT_DIRNAME = ".llmops_cache"
CACHE_FILENAME = "embeddings.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    backend     TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    revision    TEXT    NOT NULL,
    text_sha256 TEXT    NOT NULL,
    dim         INTEGER NOT NULL,
    vector      BLOB    NOT NULL,
    PRIMARY KEY (backend, model, revision, text_sha256)
) WITHOUT ROWID
"""
_CHUNK = 400  # host parameters per IN (...) query; far below SQLite's limit


def default_cache_dir() -> Path:
    """``$LLMOPS_CACHE_DIR`` if set, else ``./.llmops_cache`` (the plugin passes pytest's cache dir instead)."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else Path.cwd() / DEFAULT_DIRNAME


def text_key(text: str) -> str:
    """The cache key of a text: hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def encode_vector(vector: Sequence[float]) -> bytes:
    data = array("f", vector)
    if sys.byteorder != "little":
        data.byteswap()
    return data.tobytes()


def decode_vector(blob: bytes, dim: int) -> list[float] | None:
    """The vector stored in ``blob``, or ``None`` if the blob does not hold exactly ``dim`` float32 values."""
    if len(blob) != 4 * dim:
        return None
    data = array("f")
    data.frombytes(blob)
    if sys.byteorder != "little":
        data.byteswap()
    return data.tolist()


def as_float32(vector: Sequence[float]) -> list[float]:
    """``vector`` rounded to float32 precision, exactly as it would come back from the cache."""
    return array("f", vector).tolist()


class EmbeddingCache:
    """SQLite-backed ``(backend, model, revision, text) -> vector`` store.

    ``directory`` defaults to :func:`default_cache_dir`.  The file is opened lazily; one connection per
    process (reopened after a fork) guarded by a lock, so the object can be shared by threads.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, timeout_s: float = 30.0) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILENAME
        self.timeout_s = float(timeout_s)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None

    # -- connection --------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=self.timeout_s, check_same_thread=False, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the embedding cache {self.path}: {exc}; make the directory writable or point "
                f"${CACHE_DIR_ENV} (or the plugin's cache dir) somewhere else"
            ) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            self._retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            self._retry_locked(lambda: conn.execute(_SCHEMA))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ConfigError(
                f"the embedding cache {self.path} is unreadable ({exc}); delete the file (it only holds "
                "cached vectors and is rebuilt on the next run)"
            ) from None
        self._conn = conn
        self._pid = os.getpid()
        return conn

    def _retry_locked(self, action: Any) -> Any:
        """Run ``action``; retry while another process holds a lock SQLite's busy handler does not wait on."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                transient = "locked" in str(exc) or "busy" in str(exc)
                if not transient or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._pid = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- batch access -------------------------------------------------------------------------------
    def get_many(self, backend: str, model: str, revision: str, keys: Sequence[str]) -> dict[str, list[float]]:
        """Cached vectors for the given text keys (see :func:`text_key`); absent keys are left out."""
        found: dict[str, list[float]] = {}
        unique = list(dict.fromkeys(keys))
        if not unique:
            return found
        with self._lock:
            conn = self._connect()
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                query = (
                    "SELECT text_sha256, dim, vector FROM embeddings "
                    f"WHERE backend = ? AND model = ? AND revision = ? AND text_sha256 IN ({marks})"
                )
                params = (backend, model, revision, *chunk)
                rows = self._retry_locked(lambda q=query, p=params: conn.execute(q, p).fetchall())
                for key, dim, blob in rows:
                    vector = decode_vector(bytes(blob), int(dim))
                    if vector is not None:  # a damaged row counts as a miss and is overwritten later
                        found[key] = vector
        return found

    def put_many(self, backend: str, model: str, revision: str, items: Mapping[str, Sequence[float]]) -> None:
        """Store vectors by text key in one transaction (last writer wins on the same key)."""
        if not items:
            return
        rows = [(backend, model, revision, key, len(vector), encode_vector(vector)) for key, vector in items.items()]

        def write() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        with self._lock:
            conn = self._connect()
            self._retry_locked(write)

    def count(self) -> int:
        """Number of stored vectors (all backends and revisions)."""
        with self._lock:
            conn = self._connect()
            return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.directory)!r})"


class CachedEmbedder:
    """Wraps an :class:`Embedder`: embeds only the texts the cache lacks, in batches, and stores them.

    ``hits`` and ``misses`` count unique texts per :meth:`embed` call.  Returned vectors always have float32
    precision (see the module docstring).
    """

    cache_worthy = False  # already cached

    def __init__(self, inner: Embedder, cache: EmbeddingCache, *, batch_size: int = 64) -> None:
        if not isinstance(cache, EmbeddingCache):
            raise ConfigError(f"CachedEmbedder: cache must be an EmbeddingCache, got {type(cache).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"CachedEmbedder: batch_size must be a positive int, got {batch_size!r}")
        self.inner = inner
        self.cache = cache
        self.batch_size = batch_size
        self.hits = 0
        self.misses = 0

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def revision(self) -> str:
        return self.inner.revision

    def embed(self, texts: list[str]) -> list[list[float]]:
        if isinstance(texts, str):
            raise ConfigError("CachedEmbedder.embed() takes a list of texts, got a single string; wrap it in a list")
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise ConfigError(f"CachedEmbedder.embed(): text {index} is {type(text).__name__}, not str")
        if not texts:
            return []
        backend, model, revision = self.inner.backend, self.inner.model, self.inner.revision
        keys = [text_key(text) for text in texts]
        by_key = dict(zip(keys, texts, strict=True))
        vectors = self.cache.get_many(backend, model, revision, list(by_key))
        missing = [key for key in by_key if key not in vectors]
        self.hits += len(by_key) - len(missing)
        self.misses += len(missing)
        where = f"embedder {backend}:{model}"
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            computed = self.inner.embed([by_key[key] for key in batch])
            if len(computed) != len(batch):
                raise ConfigError(f"{where} returned {len(computed)} vectors for {len(batch)} texts")
            fresh = {
                key: as_float32(vector)
                for key, vector in zip(batch, normalize_rows(computed, where=where), strict=True)
            }
            self.cache.put_many(backend, model, revision, fresh)
            vectors.update(fresh)
        return [vectors[key] for key in keys]

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.inner!r}, {self.cache!r})"
