"""Replay-key canonicalisation and cassette file handling (no network, no litellm)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.calls import keys
from pytest_llmops.calls.cassette import Cassette, cassette_path_for, find_unused_cassettes, prune, read_entries
from pytest_llmops.errors import RecordingError

MESSAGES = [{"role": "user", "content": "What is 2+2?"}]


def key_of(params: dict, *, sample: int = 0, occurrence: int = 0, messages=MESSAGES, model="openai/gpt-4o-mini") -> str:
    return keys.replay_key(keys.request_identity("completion", model, messages, params), sample, occurrence)


def test_transport_params_do_not_change_the_key():
    base = key_of({"temperature": 0.2})
    noisy = key_of(
        {
            "temperature": 0.2,
            "api_key": "sk-one",
            "api_base": "http://127.0.0.1:1/v1",
            "base_url": "http://x",
            "timeout": 3,
            "num_retries": 5,
            "metadata": {"run": 1},
            "extra_headers": {"X-Trace": "1"},
            "mock_response": "hi",
            "stream_options": {"include_usage": True},
        }
    )
    assert noisy == base


def test_answer_params_change_the_key():
    base = key_of({"temperature": 0.2})
    assert key_of({"temperature": 0.7}) != base
    assert key_of({"temperature": 0.2, "max_tokens": 5}) != base
    assert key_of({"temperature": 0.2, "seed": 1}) != base
    assert key_of({"temperature": 0.2, "extra_body": {"top_k": 3}}) != base
    assert key_of({"temperature": 0.2}, model="openai/gpt-4o") != base
    assert key_of({"temperature": 0.2}, messages=[{"role": "user", "content": "What is 2+3?"}]) != base


def test_sample_and_occurrence_change_the_key():
    keys_seen = {key_of({}, sample=s, occurrence=o) for s in range(3) for o in range(3)}
    assert len(keys_seen) == 9


def test_integral_floats_and_none_values_canonicalise():
    assert key_of({"temperature": 1}) == key_of({"temperature": 1.0})
    assert key_of({"temperature": 1, "top_p": None}) == key_of({"temperature": 1})
    assert key_of({"temperature": 1.5}) != key_of({"temperature": 1})
    # dict order never matters
    assert key_of({"temperature": 0, "max_tokens": 3}) == key_of({"max_tokens": 3, "temperature": 0})


def test_pydantic_response_format_is_keyed_by_schema():
    pydantic = pytest.importorskip("pydantic")

    class A(pydantic.BaseModel):
        answer: int

    class B(pydantic.BaseModel):
        answer: str

    assert key_of({"response_format": A}) != key_of({"response_format": B})
    assert key_of({"response_format": A}) == key_of({"response_format": A})


# -- cassette files ------------------------------------------------------------------------------
def test_cassette_path_is_readable_and_deterministic(tmp_path: Path):
    p = cassette_path_for(tmp_path, "tests/test_bot.py::test_answer[case-1]")
    assert p == tmp_path / "tests" / "test_bot" / "test_answer[case-1].json"
    q = cassette_path_for(tmp_path, "tests/test_bot.py::TestBot::test_answer")
    assert q == tmp_path / "tests" / "test_bot" / "TestBot.test_answer.json"
    odd = cassette_path_for(tmp_path, "tests/test_bot.py::test_answer[a/b c]")
    assert odd.parent == tmp_path / "tests" / "test_bot"
    assert "/" not in odd.name and " " not in odd.name
    # lossy sanitising adds a hash so "a/b" and "a_b" do not collide
    assert odd != cassette_path_for(tmp_path, "tests/test_bot.py::test_answer[a_b_c]")


def _entry(key: str, sample: int = 0, occurrence: int = 0) -> dict:
    return {"key": key, "kind": "completion", "sample": sample, "occurrence": occurrence,
            "request": {"model": "m", "messages": [], "params": {}}, "response": {"choices": []}}


def test_cassette_is_sorted_indented_and_stable(tmp_path: Path):
    path = tmp_path / "c.json"
    c = Cassette(path, "t::x")
    c.put(_entry("bbb", 1, 0))
    c.put(_entry("aaa", 0, 1))
    c.put(_entry("ccc", 0, 0))
    assert c.save()
    text = path.read_text()
    assert text.endswith("}\n") and '\n  "entries": [' in text
    assert [e["key"] for e in json.loads(text)["entries"]] == ["ccc", "aaa", "bbb"]
    c2 = Cassette.load(path, "t::x")
    c2.dirty = True
    c2.save()
    assert path.read_text() == text
    assert not list(tmp_path.glob(".*.tmp"))  # no temp files left behind


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"version": 1, "entries": [', ":1:"),
        ("[1, 2]", "JSON object"),
        ('{"version": 7, "entries": []}', "version"),
        ('{"version": 1, "entries": {}}', "entries"),
        ('{"version": 1, "entries": [{"key": "k"}]}', "entries[0]"),
    ],
)
def test_corrupt_cassette_names_file_and_position(tmp_path: Path, content: str, needle: str):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(RecordingError) as info:
        read_entries(path)
    assert str(path) in str(info.value)
    assert needle in str(info.value)
    assert path.read_text() == content  # never silently rewritten


def test_find_unused_and_prune(tmp_path: Path):
    for nodeid in ("t.py::a", "t.py::b"):
        c = Cassette(cassette_path_for(tmp_path, nodeid), nodeid)
        c.put(_entry("k1"))
        c.put(_entry("k2", occurrence=1))
        c.save()
    unused = find_unused_cassettes(tmp_path, ["t.py::a"])
    assert unused == [cassette_path_for(tmp_path, "t.py::b")]
    path_a = cassette_path_for(tmp_path, "t.py::a")
    dry = prune(tmp_path, ["t.py::a"], unused_entries={str(path_a): ["k2"]}, dry_run=True)
    assert dry["removed_files"] == [str(unused[0])] and unused[0].exists()
    prune(tmp_path, ["t.py::a"], unused_entries={str(path_a): ["k2"]})
    assert not unused[0].exists()
    assert set(read_entries(path_a)) == {"k1"}
