"""Similarity throughput: real all-MiniLM-L6-v2 cold (empty cache) vs cached, and the lexical backend.

    PYTHONPATH=. python bench/similarity.py [--pairs 500] [--repeat 3] [--cold-repeat 1] [--threads 1]

"cold" = model already loaded, cache empty: every text is embedded and written to the SQLite cache.
"cached" = a fresh process-level view of the same cache file (new EmbeddingCache + CachedEmbedder): every
vector is read back, the model is not called.  The best of --cold-repeat / --repeat runs is reported, so
the ratio is measured within one run on the same machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmops.scorers.embeddings import backends as embedders  # noqa: E402
from pytest_llmops.scorers.embeddings.backends import LexicalEmbedder, SentenceTransformerEmbedder  # noqa: E402
from pytest_llmops.scorers.embeddings.cache import CachedEmbedder, EmbeddingCache  # noqa: E402
from pytest_llmops.scorers.similarity import similarities  # noqa: E402

SUBJECTS = [
    "The customer",
    "A developer",
    "The support agent",
    "Our billing system",
    "The new release",
    "A user in Berlin",
    "The mobile app",
    "The nightly job",
    "The API gateway",
    "The onboarding wizard",
]
VERBS = [
    "refunds",
    "rejects",
    "exports",
    "caches",
    "deletes",
    "summarizes",
    "translates",
    "retries",
    "logs",
    "schedules",
]
OBJECTS = [
    "the last invoice",
    "every failed payment",
    "the weekly report",
    "a password reset email",
    "the shopping cart",
    "all pending orders",
    "the audit trail",
    "a support ticket",
    "the search index",
    "the monthly subscription",
]
TAILS = [
    "before noon.",
    "within two days.",
    "when the user asks.",
    "without any warning.",
    "after a timeout.",
    "on the first try.",
    "for premium accounts only.",
    "in under a second.",
]


def make_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def sentence() -> str:
        return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"

    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(pairs) < n:
        a, b = sentence(), sentence()
        if a != b and a not in seen and b not in seen:
            seen.update((a, b))
            pairs.append((a, b))
    return pairs


def best_rate(pairs: list[tuple[str, str]], make_embedder, repeat: int) -> tuple[float, list[float]]:
    best, scores = 0.0, []
    for _ in range(repeat):
        embedder = make_embedder()
        start = time.perf_counter()
        scores = similarities(pairs, embedder=embedder)
        best = max(best, len(pairs) / (time.perf_counter() - start))
    return best, scores


class SpyEmbedder:
    """Same identity as the wrapped model (so it hits the same cache rows) but records any embed call."""

    def __init__(self, inner: SentenceTransformerEmbedder, calls: list[int]) -> None:
        self.backend, self.model, self.revision = inner.backend, inner.model, inner.revision
        self._inner, self._calls = inner, calls

    def embed(self, texts: list[str]) -> list[list[float]]:
        self._calls.append(len(texts))
        return self._inner.embed(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the cached and lexical measurements")
    parser.add_argument("--threads", type=int, default=None, help="torch threads while encoding (default: torch's)")
    parser.add_argument("--cold-repeat", type=int, default=1, help="runs of the (slow) cold measurement")
    args = parser.parse_args()
    pairs = make_pairs(args.pairs)
    texts = len({t for p in pairs for t in p})

    model = SentenceTransformerEmbedder(num_threads=args.threads)
    start = time.perf_counter()
    model.embed(["warm up"])
    load_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        dirs = iter(Path(tmp) / f"cold{i}" for i in range(args.cold_repeat))
        cold, cold_scores = best_rate(
            pairs, lambda: CachedEmbedder(model, EmbeddingCache(next(dirs))), args.cold_repeat
        )
        loads_before = embedders.MODEL_LOADS
        calls = []
        counting = SpyEmbedder(model, calls)
        cached, cached_scores = best_rate(
            pairs, lambda: CachedEmbedder(counting, EmbeddingCache(Path(tmp) / "cold0")), args.repeat
        )
        assert not calls and embedders.MODEL_LOADS == loads_before, "the cached run must not touch the model"
        assert cached_scores == cold_scores, "cached scores must equal the cold ones bit for bit"
    lexical, _ = best_rate(pairs, LexicalEmbedder, args.repeat)

    print(
        f"{len(pairs)} pairs, {texts} unique texts; best of {args.cold_repeat} cold / {args.repeat} other runs; "
        f"model load {load_s:.1f}s (excluded); torch threads: {args.threads or 'default'}"
    )
    print(f"{'backend':<34}{'pairs/s':>12}{'vs cold':>10}")
    for name, rate in [
        ("MiniLM cold (embed + cache write)", cold),
        ("MiniLM cached (SQLite read)", cached),
        ("lexical (hashing, no cache)", lexical),
    ]:
        print(f"{name:<34}{rate:>12,.0f}{rate / cold:>9.1f}x")
    from _common import emit_result  # bench/_common.py: the lines bench/run_all.py reads

    emit_result("similarity", "MiniLM cached / cold throughput", round(cached / cold, 1), unit="x",
                cold_pairs_s=round(cold), cached_pairs_s=round(cached), lexical_pairs_s=round(lexical))
    emit_result("similarity", "MiniLM cold / cached / lexical", f"{cold:,.0f} / {cached:,.0f} / {lexical:,.0f}",
                unit="pairs/s")


if __name__ == "__main__":
    main()
