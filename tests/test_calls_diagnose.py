"""A missing recording explains itself, and replay-key normalizers keep volatile prompts replayable."""

from __future__ import annotations

import pytest
from inner_runs import configure, model_requests, run

from pytest_llmops.calls.diagnose import describe_change, explain, field_diff, flatten
from pytest_llmops.calls.normalize import Normalizer, parse_rule
from pytest_llmops.errors import ConfigError
from pytest_llmops.testing.loopback import LoopbackServer

# imported here, not first inside an in-process inner run (pytester would unload it, which breaks entry points)
litellm = pytest.importorskip("litellm")


def test_flatten_and_field_diff_name_each_changed_leaf():
    old = {"model": "m", "messages": [{"role": "user", "content": "a"}], "params": {"temperature": 0.2}}
    new = {"model": "m", "messages": [{"role": "user", "content": "b"}], "params": {"temperature": 0.3, "seed": 1}}
    assert flatten(old) == {"model": "m", "messages[0].role": "user", "messages[0].content": "a",
                            "params.temperature": 0.2}
    diffs = field_diff(old, new)
    assert [d[0] for d in diffs] == ["messages[0].content", "params.seed", "params.temperature"]
    assert describe_change(*diffs[1]) == "params.seed: (absent) → 1"


def test_long_strings_show_where_they_differ():
    before = "Hello! I am writing because I cannot remember how to reset your password for my account"
    after = before.replace("reset your password", "reset the password")
    line = describe_change("messages[1].content", before, after)
    assert line == ('messages[1].content: "…t remember how to reset your password for my account" → '
                    '"…t remember how to reset the password for my account"')


def test_explain_picks_the_closest_recording_and_says_when_only_the_occurrence_differs():
    request = {"model": "m", "messages": [{"role": "user", "content": "q2"}], "params": {}}
    entries = [
        {"kind": "completion", "sample": 0, "occurrence": 0,
         "request": {"model": "m", "messages": [{"role": "user", "content": "q1"}], "params": {"n": 2}}},
        {"kind": "completion", "sample": 0, "occurrence": 0,
         "request": {"model": "m", "messages": [{"role": "user", "content": "q1"}], "params": {}}},
    ]
    text = explain(entries, "completion", request, 0, 0, lambda r: r, [])
    assert "differs in 1 field(s)" in text and 'messages[0].content: "q1" → "q2"' in text
    same = explain(entries[1:], "completion", entries[1]["request"], 0, 1, lambda r: r, ["'x' → 'y'"])
    assert "the same request is recorded (sample 0, occurrence 0)" in same and "occurrence 1" in same
    assert "normalizers applied: 'x' → 'y'" in same


def test_normalizer_rules_and_hooks():
    norm = Normalizer.build([(*parse_rule(r"\d{4}-\d{2}-\d{2} => <date>"), "ini")],
                            [lambda r: {**r, "params": {}}])
    identity = {"kind": "completion", "model": "m-2024-01-01",
                "messages": [{"role": "system", "content": "Today is 2026-12-02."}], "params": {"seed": 1}}
    assert norm.apply(identity) == {"kind": "completion", "model": "m-2024-01-01",
                                    "messages": [{"role": "system", "content": "Today is <date>."}], "params": {}}
    assert norm.describe()[0] == r"'\\d{4}-\\d{2}-\\d{2}' → '<date>'"
    with pytest.raises(ConfigError, match="REGEX => PLACEHOLDER"):
        parse_rule("no arrow here")
    with pytest.raises(ConfigError, match="bad regular expression"):
        Normalizer.build([("(", "x", "ini")])


DIFF_SUITE = """
import os

def test_support(llm):
    llm.complete([{"role": "system", "content": "You are Lumen support."},
                  {"role": "user", "content": os.environ["QUESTION"]}],
                 temperature=float(os.environ["TEMPERATURE"]))
"""


def test_missing_recording_shows_the_closest_request_and_what_changed(pytester: pytest.Pytester,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-secret")
    pytester.makepyfile(test_diff=DIFF_SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        monkeypatch.setenv("QUESTION", "Hi, I forgot how to reset your password, what now?")
        monkeypatch.setenv("TEMPERATURE", "0.2")
        run(pytester, "--llmops-record-mode=once")[0].assert_outcomes(passed=1)
        monkeypatch.setenv("QUESTION", "Hi, I forgot how to reset the password, what now?")
        monkeypatch.setenv("TEMPERATURE", "0.3")
        result, _ = run(pytester)
        assert len(model_requests(server)) == 1
    out = result.stdout.str()
    assert "RecordingMissing" in out
    assert "closest recorded request (sample 0, occurrence 0) differs in 2 field(s)" in out
    assert 'messages[1].content: "…, I forgot how to reset your password, what now?" → ' \
           '"…, I forgot how to reset the password, what now?"' in out
    assert "params.temperature: 0.2 → 0.3" in out


DATE_SUITE = """
import datetime, os, pytest

def prompt():
    today = os.environ["TODAY"]
    return [{"role": "system", "content": f"Today is {today}. Request id req-{os.environ['REQ']}."},
            {"role": "user", "content": "When does my trial end?"}]

def test_trial(llm, llmops):
    llmops.artifact("answer", llm.complete(prompt(), temperature=0).text)

@pytest.mark.llmops_normalize(r"req-[0-9a-f]+", "req-<id>")
def test_marker(llm, llmops):
    llmops.artifact("answer", llm.complete(prompt(), temperature=0).text)

def drop_system(request):
    request["messages"] = [m for m in request["messages"] if m["role"] != "system"]
    return request

@pytest.mark.llmops_normalize(hook=drop_system)
def test_hook(llm, llmops):
    llmops.artifact("answer", llm.complete(prompt(), temperature=0).text)
"""


def test_normalizers_keep_a_dated_prompt_replayable_the_next_day(pytester: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-secret")
    pytester.makepyfile(test_dated=DATE_SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url, extra=("llmops_normalize =", r"    \d{4}-\d{2}-\d{2} => <date>"))
        monkeypatch.setenv("TODAY", "2031-05-06")
        monkeypatch.setenv("REQ", "a1b2")
        result, live = run(pytester, "--llmops-record-mode=once", "-p", "no:randomly")
        result.assert_outcomes(passed=3)
        monkeypatch.setenv("TODAY", "2031-05-07")  # the next day, another request id
        monkeypatch.setenv("REQ", "ffee")
        result, again = run(pytester, "-p", "no:randomly")
        assert len(model_requests(server)) == 3
    out = result.stdout.str()
    # the ini rule covers the date; the request id is covered only where a marker or the hook says so
    result.assert_outcomes(passed=2, errors=1)
    assert "test_trial" in out and "req-ffee" not in out.split("RecordingMissing")[0]
    assert "replay-key normalizers applied: '\\\\d{4}-\\\\d{2}-\\\\d{2}' → '<date>'" in out
    assert 'req-a1b2' in out and 'req-ffee' in out  # the diagnosis shows the volatile part that broke the key
    by_id = {t["nodeid"]: t for t in again["tests"]}
    assert by_id["test_dated.py::test_marker"]["outcome"] == "passed"
    assert by_id["test_dated.py::test_hook"]["outcome"] == "passed"
    recorded = (pytester.path / "recordings" / "test_dated" / "test_marker.json").read_text()
    assert "<date>" in recorded and "req-<id>" in recorded and "2031-05-06" not in recorded
