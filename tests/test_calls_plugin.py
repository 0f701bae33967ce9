"""The model-call layer through real pytest runs of the plugin (pytester), over real HTTP to a LoopbackServer.

Every scenario runs an inner pytest session against a local OpenAI-compatible server, then checks the run
record (validated against the shipped schema), the cassette files and the exit status.  In-process runs share
the already imported litellm; the ``-n 2`` runs and the app-import capture run in subprocesses.
"""

from __future__ import annotations

import itertools
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import by_nodeid
from inner_runs import MODEL, PRICE_IN, PRICE_OUT, configure, model_requests, run

from pytest_llmops.calls.cassette import read_document
from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")  # imported once here: in-process inner runs reuse it

OPENAI_KEY = "sk-fake-openai-7d1f0c2b9e64"


@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def user_texts(server: LoopbackServer) -> list[str]:
    return [r["messages"][-1]["content"] for r in model_requests(server)]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def expected_cost(call: dict[str, Any]) -> float:
    return (call["prompt_tokens"] * PRICE_IN + call["completion_tokens"] * PRICE_OUT) / 1_000_000


class Generation:
    """A responder whose answers name the server generation and count requests (every answer is distinct)."""

    def __init__(self, generation: int = 1) -> None:
        self.generation = generation
        self._counter = itertools.count(1)

    def __call__(self, body: dict[str, Any]) -> str:
        return f"gen{self.generation} #{next(self._counter)}: {body['messages'][-1]['content']}"


# -- 1. record modes ---------------------------------------------------------------------------------------

MODES_SUITE = """
import os

def test_one(llm, llmops):
    reply = llm.complete("What is the capital of France?", temperature=0)
    answers = [reply.text]
    if os.environ.get("LLMOPS_EXTRA_CALL"):
        answers.append(llm.complete("And the capital of Spain?", temperature=0).text)
    llmops.artifact("answers", answers)

def test_two(llm, llmops):
    first = llm.complete("Name a prime number.", temperature=0)
    second = llm.complete("Name a prime number.", temperature=0)  # the same request again: occurrence 1
    llmops.artifact("answers", [first.text, second.text])
"""

ONE, TWO = "test_modes.py::test_one", "test_modes.py::test_two"


def test_record_modes_end_to_end(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_modes=MODES_SUITE)
    cassettes = pytester.path / "recordings" / "test_modes"
    one_file, two_file = cassettes / "test_one.json", cassettes / "test_two.json"

    # once: no cassette yet -> live calls, recorded next to the test module
    responder = Generation(1)
    with LoopbackServer(responder=responder) as server:
        configure(pytester, server.base_url)
        result, live = run(pytester, "--llmops-record-mode=once")
        assert result.ret == 0, result.stdout.str()
        assert len(model_requests(server)) == 3
    assert sorted(p.name for p in cassettes.iterdir()) == ["test_one.json", "test_two.json"]
    for path in (one_file, two_file):
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
        assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # readable, sorted
        order = [(e["sample"], e["occurrence"], e["key"]) for e in doc["entries"]]
        assert order == sorted(order)
        assert OPENAI_KEY not in text and "Bearer" not in text
    assert [e["occurrence"] for e in read_document(two_file)["entries"]] == [0, 1]
    live_tests = by_nodeid(live)
    for nodeid, n in ((ONE, 1), (TWO, 2)):
        calls = live_tests[nodeid]["calls"]
        assert len(calls) == n and all(not c["cached"] and c["replayed_cost_usd"] is None for c in calls)
        assert all(c["cost_usd"] == pytest.approx(expected_cost(c)) and c["cost_usd"] > 0 for c in calls)
        assert live_tests[nodeid]["recordings"]["recorded"] == n
    assert live_tests[TWO]["artifacts"]["answers"][0] != live_tests[TWO]["artifacts"]["answers"][1]
    assert live["totals"]["live_calls"] == 3 and live["totals"]["cost_usd"] > 0

    # none, server stopped: everything replayed offline, identical texts and usage, nothing spent
    recorded = snapshot(cassettes)
    result, replay = run(pytester, "--llmops-record-mode=none")
    assert result.ret == 0, result.stdout.str()
    replay_tests = by_nodeid(replay)
    for nodeid in (ONE, TWO):
        assert replay_tests[nodeid]["outcome"] == "passed"
        assert replay_tests[nodeid]["artifacts"] == live_tests[nodeid]["artifacts"]
        for before, after in zip(live_tests[nodeid]["calls"], replay_tests[nodeid]["calls"], strict=True):
            assert after["cached"] is True and after["cost_usd"] == 0
            assert after["replayed_cost_usd"] == pytest.approx(before["cost_usd"])
            assert [after[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens", "key")] == [
                before[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens", "key")]
    assert replay["totals"]["cost_usd"] == 0 and replay["totals"]["replayed_calls"] == 3
    assert replay["totals"]["replayed_cost_usd"] == pytest.approx(live["totals"]["cost_usd"])
    assert snapshot(cassettes) == recorded

    # none with a recording missing: that test errors (not fails) and says how to record it
    kept = pytester.path / "kept.json"
    shutil.move(two_file, kept)
    result, missing = run(pytester, "--llmops-record-mode=none")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    tests = by_nodeid(missing)
    assert tests[ONE]["outcome"] == "passed"
    assert tests[TWO]["outcome"] == "error" and tests[TWO]["error_kind"] == "recording"
    assert "--llmops-record-mode=once" in tests[TWO]["message"] and "test_two" in tests[TWO]["message"]
    assert missing["totals"]["outcomes"] == {"error": 1, "passed": 1}
    assert not two_file.exists()  # a replay-only run writes nothing
    shutil.move(kept, two_file)

    # new_episodes: only the call that has no recording goes to the server
    monkeypatch.setenv("LLMOPS_EXTRA_CALL", "1")
    with LoopbackServer(responder=Generation(2)) as server:
        configure(pytester, server.base_url)
        result, episodes = run(pytester, "--llmops-record-mode=new_episodes")
        assert result.ret == 0, result.stdout.str()
        assert user_texts(server) == ["And the capital of Spain?"]
    one_calls = by_nodeid(episodes)[ONE]["calls"]
    assert [c["cached"] for c in one_calls] == [True, False]
    one_doc = read_document(one_file)
    assert len(one_doc["entries"]) == 2
    assert json.loads(recorded["test_one.json"])["entries"][0] in one_doc["entries"]  # old entry kept as it was
    assert two_file.read_bytes() == recorded["test_two.json"]
    assert by_nodeid(episodes)[ONE]["artifacts"]["answers"][1].startswith("gen2 ")

    # all: every call live again, cassettes rewritten with this run's calls only
    monkeypatch.delenv("LLMOPS_EXTRA_CALL")
    with LoopbackServer(responder=Generation(3)) as server:
        configure(pytester, server.base_url)
        result, rewritten = run(pytester, "--llmops-record-mode=all")
        assert result.ret == 0, result.stdout.str()
        assert len(model_requests(server)) == 3
    assert all(not c["cached"] for t in rewritten["tests"] for c in t["calls"])
    one_doc = read_document(one_file)
    assert len(one_doc["entries"]) == 1  # the Spain call of the previous run is gone
    assert one_doc["entries"][0]["response"]["choices"][0]["message"]["content"].startswith("gen3 ")
    assert all(e["response"]["choices"][0]["message"]["content"].startswith("gen3 ")
               for e in read_document(two_file)["entries"])

    # off: live calls, no cassette read or written (not even for a test without one)
    two_file.unlink()
    monkeypatch.setenv("LLMOPS_EXTRA_CALL", "1")
    before = snapshot(cassettes)
    with LoopbackServer(responder=Generation(4)) as server:
        configure(pytester, server.base_url)
        result, off = run(pytester, "--llmops-record-mode=off")
        assert result.ret == 0, result.stdout.str()
        assert len(model_requests(server)) == 4
    assert snapshot(cassettes) == before
    assert all(not c["cached"] for t in off["tests"] for c in t["calls"])
    assert by_nodeid(off)[ONE]["artifacts"]["answers"][0].startswith("gen4 ")
    assert off["unused_recordings"] == []


# -- 2. capture of the app's own litellm calls --------------------------------------------------------------

APP_MODULE = """
import os

def answer(question):
    import litellm  # imported lazily, inside the first test of the run

    response = litellm.completion(model="openai/loopback-model", messages=[{"role": "user", "content": question}],
                                  api_base=os.environ["APP_API_BASE"], temperature=0)
    return response.choices[0].message.content
"""

APP_FROM_IMPORT = """
import os
from litellm import completion  # bound at import time of this module

def answer(question):
    response = completion(model="openai/loopback-model", messages=[{"role": "user", "content": question}],
                          api_base=os.environ["APP_API_BASE"], temperature=0)
    return response.choices[0].message.content
"""

APP_TESTS = """
import os, sys
import app_attribute

def test_attribute(llmops):
    if os.environ.get("EXPECT_LAZY_LITELLM"):  # fresh process: nothing imported litellm before this call
        assert "litellm" not in sys.modules
    llmops.artifact("answer", app_attribute.answer("Where is my parcel?"))

def test_from_import(llmops):
    import app_from_import  # its `from litellm import completion` runs now

    llmops.artifact("answer", app_from_import.answer("How do I reset my password?"))
"""


def test_app_litellm_calls_are_captured_recorded_and_replayed(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(app_attribute=APP_MODULE, app_from_import=APP_FROM_IMPORT, test_app=APP_TESTS)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        monkeypatch.setenv("APP_API_BASE", server.base_url)
        monkeypatch.setenv("EXPECT_LAZY_LITELLM", "1")
        result, live = run(pytester, "--llmops-record-mode=once", subprocess=True)  # litellm imported afresh
        assert result.ret == 0, result.stdout.str()
        monkeypatch.delenv("EXPECT_LAZY_LITELLM")
        assert sorted(user_texts(server)) == ["How do I reset my password?", "Where is my parcel?"]
    recorded = by_nodeid(live)
    for name in ("test_attribute", "test_from_import"):
        (call,) = recorded[f"test_app.py::{name}"]["calls"]
        assert call["source"] == "captured" and call["cached"] is False and call["cost_usd"] > 0
        assert (pytester.path / "recordings" / "test_app" / f"{name}.json").is_file()

    # server gone: the app's calls are served from the recordings, as litellm response objects
    result, replay = run(pytester, "--llmops-record-mode=none")
    assert result.ret == 0, result.stdout.str()
    for nodeid, test in by_nodeid(replay).items():
        (call,) = test["calls"]
        assert call["source"] == "captured" and call["cached"] is True and call["cost_usd"] == 0
        assert test["artifacts"] == recorded[nodeid]["artifacts"]
        assert "loopback answer" in test["artifacts"]["answer"]


# -- 3. secrets never reach a file --------------------------------------------------------------------------

SECRETS = {
    "OPENAI_API_KEY": OPENAI_KEY,
    "ANTHROPIC_API_KEY": "sk-ant-fake-44aa19c0e2f1",
    "ACME_SERVICE_TOKEN": "acme-tok-9f8e7d6c5b4a",
    "APP_CALL_KEY": "sk-call-passed-3c2b1a0f77",  # not a secret-looking name: only passed as api_key=
}

SECRETS_SUITE = """
import os
import litellm

def test_fixture_call(llm, llmops):
    token = os.environ["ACME_SERVICE_TOKEN"]
    reply = llm.complete(f"Call the ACME API with token {token} and summarise.", temperature=0,
                         api_key=os.environ["APP_CALL_KEY"])
    llmops.metric("answer_chars", len(reply.text))

def test_captured_call(llmops):
    response = litellm.completion(model="openai/loopback-model", temperature=0,
                                  messages=[{"role": "user", "content": "Which key is " + os.environ["ANTHROPIC_API_KEY"]}],
                                  api_base=os.environ["APP_API_BASE"], api_key=os.environ["APP_CALL_KEY"],
                                  extra_headers={"Authorization": "Bearer " + os.environ["APP_CALL_KEY"]})
    llmops.metric("answer_chars", len(response.choices[0].message.content))
"""


def test_no_secret_reaches_any_file_the_run_writes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(test_secrets=SECRETS_SUITE)
    inputs = set(snapshot(pytester.path))
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        monkeypatch.setenv("APP_API_BASE", server.base_url)
        result, report = run(pytester, "--llmops-record-mode=once")
        assert result.ret == 0, result.stdout.str()
        sent = model_requests(server)
    # the secrets really went out (so the check below is not vacuous) ...
    assert any(SECRETS["ACME_SERVICE_TOKEN"] in r["messages"][0]["content"] for r in sent)
    assert all(r["headers"].get("authorization") == f"Bearer {SECRETS['APP_CALL_KEY']}" for r in sent)
    # ... but no file the run wrote holds any of them
    written = {name: data for name, data in snapshot(pytester.path).items() if name not in inputs}
    assert "r.json" in written and any(name.startswith("recordings/") for name in written)
    leaks = [(name, secret) for name, data in written.items() for secret in SECRETS.values()
             if secret.encode() in data]
    assert leaks == []
    cassette = (pytester.path / "recordings" / "test_secrets" / "test_fixture_call.json").read_text()
    assert "<redacted:ACME_SERVICE_TOKEN>" in cassette
    assert all(t["outcome"] == "passed" for t in report["tests"])
    # scrubbing the stored request does not break replay (keys come from the unscrubbed request)
    result, replay = run(pytester, "--llmops-record-mode=none")
    assert result.ret == 0, result.stdout.str()
    assert all(c["cached"] for t in replay["tests"] for c in t["calls"])


# -- 4 + 11. concurrent writers under -n 2, and the live-call concurrency limit across workers ---------------

class InFlight:
    """Responder that holds each request a while and measures how many are in flight at once (server side)."""

    def __init__(self, hold_s: float, wait_for: int = 0) -> None:
        self.hold_s = hold_s
        self.wait_for = wait_for
        self.now = 0
        self.peak = 0
        self._cond = threading.Condition()

    def __call__(self, body: dict[str, Any]) -> str:
        with self._cond:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self._cond.notify_all()
            deadline = time.monotonic() + self.hold_s
            while self.now < self.wait_for and time.monotonic() < deadline:  # let stragglers arrive
                self._cond.wait(deadline - time.monotonic())
        time.sleep(self.hold_s if not self.wait_for else 0.0)
        with self._cond:
            self.now -= 1
        return f"answer to {body['messages'][-1]['content']}"


PARALLEL_SUITE = """
from concurrent.futures import ThreadPoolExecutor
import pytest

@pytest.mark.parametrize("topic", ["billing", "shipping", "returns", "privacy", "pricing", "warranty"])
def test_topic(llm, llmops, topic):
    questions = [f"{topic} question {i}" for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda q: llm.complete(q, temperature=0), questions))
    llmops.artifact("answers", [r.text for r in replies])
"""


def test_concurrent_workers_record_valid_cassettes_within_the_concurrency_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parallel=PARALLEL_SUITE)
    stale = pytester.path / "recordings" / "test_parallel" / "test_topic[removed].json"  # a deleted test's
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"version": 1, "test": "test_parallel.py::test_topic[removed]", "entries": []}))
    gauge = InFlight(hold_s=0.15)
    with LoopbackServer(responder=gauge) as server:
        configure(pytester, server.base_url)
        result, report = run(pytester, "-n", "2", "--llmops-record-mode=once", "--llmops-concurrency=2",
                             subprocess=True)
        assert result.ret == 0, result.stdout.str()
        assert len(model_requests(server)) == 18
    assert 1 <= gauge.peak <= 2
    tests = by_nodeid(report)
    assert len(tests) == 6 and all(t["outcome"] == "passed" for t in tests.values())
    assert report["run"]["workers"] == 2
    assert report["unused_recordings"] == [str(stale)]  # found by the controller, which made no call itself
    cassettes = sorted(p for p in (pytester.path / "recordings" / "test_parallel").iterdir() if p != stale)
    assert [p.name for p in cassettes] == [f"test_topic[{t}].json" for t in
                                           sorted(["billing", "shipping", "returns", "privacy", "pricing", "warranty"])]
    for path in cassettes:
        doc = read_document(path)  # valid JSON and a valid cassette
        topic = path.name[len("test_topic["):-len("].json")]
        assert doc["test"] == f"test_parallel.py::test_topic[{topic}]"
        assert sorted(e["request"]["messages"][0]["content"] for e in doc["entries"]) == [
            f"{topic} question {i}" for i in range(3)]
    assert not list((pytester.path / "recordings").rglob("*.tmp"))


def test_in_flight_gauge_sees_parallel_calls_without_a_tight_limit(pytester: pytest.Pytester) -> None:
    """Control for the test above: the same suite with room for 8 calls shows more than 2 in flight."""
    pytester.makepyfile(test_parallel=PARALLEL_SUITE)
    gauge = InFlight(hold_s=10.0, wait_for=3)  # released as soon as all 3 are in: the timeout only bounds a failure
    with LoopbackServer(responder=gauge) as server:
        configure(pytester, server.base_url)
        result, _ = run(pytester, "--llmops-record-mode=off", "--llmops-concurrency=8", "-k", "billing")
        assert result.ret == 0, result.stdout.str()
    assert gauge.peak == 3


# -- 5. corrupt cassette ------------------------------------------------------------------------------------

CORRUPT_SUITE = """
def test_good(llm):
    assert llm.complete("Is the sky blue?", temperature=0).text

def test_bad(llm):
    assert llm.complete("Is grass green?", temperature=0).text
"""


def test_corrupt_cassette_errors_only_its_test_and_is_left_alone(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_c=CORRUPT_SUITE)
    bad = pytester.path / "recordings" / "test_c" / "test_bad.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"version": 1, "test": "test_c.py::test_bad", "entries": [\n  {"key": "abc",\n', encoding="utf-8")
    corrupt = bad.read_bytes()
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        for mode in ("once", "none", "new_episodes"):
            result, report = run(pytester, f"--llmops-record-mode={mode}")
            assert result.ret == pytest.ExitCode.TESTS_FAILED
            tests = by_nodeid(report)
            assert tests["test_c.py::test_good"]["outcome"] == "passed"
            bad_test = tests["test_c.py::test_bad"]
            assert bad_test["outcome"] == "error" and bad_test["calls"] == []
            assert "RecordingError" in bad_test["message"] and str(bad) in bad_test["message"]
            assert "not valid JSON" in bad_test["message"] and "re-record" in bad_test["message"]
            assert bad.read_bytes() == corrupt
        assert user_texts(server) == ["Is the sky blue?"]  # only test_good's first recording went live


# -- 6. provider faults over real HTTP ----------------------------------------------------------------------

FAULTS_SUITE = """
import json, os, urllib.request

def serve_next(*kinds):  # script the loopback server from inside the inner test, through /__control
    body = json.dumps({"clear_queues": True, "queue_fault": [{"kind": kind} for kind in kinds]}).encode()
    request = urllib.request.Request(os.environ["LOOPBACK_CONTROL"], data=body,
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()

def test_1_rate_limited(llm, llmops):
    serve_next("429")
    llmops.artifact("answer", llm.complete("first", temperature=0).text)

def test_2_server_down(llm):
    serve_next("500", "500", "500")
    llm.complete("second", temperature=0)

def test_3_hangs(llm):
    serve_next("hang", "hang", "hang")
    llm.complete("third", temperature=0)

def test_4_malformed(llm):
    serve_next("malformed", "malformed", "malformed")
    llm.complete("fourth", temperature=0)

def test_5_bad_key(llm):
    serve_next("401", "401")
    llm.complete("fifth", temperature=0)
"""


def test_provider_faults_over_http(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_f=FAULTS_SUITE)
    with LoopbackServer(retry_after_s=0.1, hang_s=4.0) as server:
        configure(pytester, server.base_url)
        monkeypatch.setenv("LOOPBACK_CONTROL", server.base_url.removesuffix("/v1") + "/__control")
        result, report = run(pytester, "--llmops-record-mode=off", "--llmops-timeout=1", "--llmops-retries=1")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        # one retry each, except the refused key (never retried)
        assert user_texts(server) == ["first"] * 2 + ["second"] * 2 + ["third"] * 2 + ["fourth"] * 2 + ["fifth"]
    tests = by_nodeid(report)
    ok = tests["test_f.py::test_1_rate_limited"]
    assert ok["outcome"] == "passed", ok
    assert ok["calls"][0]["retries"] == 1 and ok["calls"][0]["error"] is None
    assert ok["artifacts"]["answer"].startswith("loopback answer")
    expected = {"test_2_server_down": ("server", "HTTP 500", 1), "test_3_hangs": ("timeout", "", 1),
                "test_4_malformed": ("malformed", "", 1), "test_5_bad_key": ("auth", "HTTP 401", 0)}
    for name, (kind, status, retries) in expected.items():
        test = tests[f"test_f.py::{name}"]
        assert test["outcome"] == "error" and test["error_kind"] == "provider", test
        (call,) = test["calls"]
        assert call["error"]["kind"] == kind and call["retries"] == retries, call
        assert call["cost_usd"] == 0
        assert test["message"].startswith(f"ProviderError: model call for model '{MODEL}' failed after "
                                          f"{retries + 1} attempt"), test["message"]
        assert f": {kind}" in test["message"] and status in test["message"]
    assert "The server had an error while processing your request" in tests["test_f.py::test_2_server_down"]["message"]
    assert "timed out" in tests["test_f.py::test_3_hangs"]["message"]
    assert "could not be parsed" in tests["test_f.py::test_4_malformed"]["message"]
    auth = tests["test_f.py::test_5_bad_key"]["message"]
    assert "Incorrect API key provided" in auth and "OPENAI_API_KEY" in auth and "not retried" in auth
    assert report["totals"]["outcomes"] == {"error": 4, "passed": 1}


def test_missing_api_key_names_the_env_var_to_set(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester.makepyfile(test_k="def test_k(llm):\n    llm.complete('hi', temperature=0)\n")
    with LoopbackServer(responder=lambda body: "unreachable") as server:
        configure(pytester, server.base_url)
        result, report = run(pytester, "--llmops-record-mode=off", "--llmops-retries=2")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        sent = model_requests(server)
    (test,) = report["tests"]
    assert test["outcome"] == "error" and test["error_kind"] == "provider"
    assert test["message"].startswith(f"ProviderError: model call for model '{MODEL}' failed after 1 attempt: auth")
    assert "OPENAI_API_KEY is not set; export OPENAI_API_KEY" in test["message"] and "not retried" in test["message"]
    assert test["calls"][0]["retries"] == 0 and len(sent) <= 1


# -- 9. unused recordings -----------------------------------------------------------------------------------

KEEP = "def test_keep(llm):\n    llm.complete('keep me', temperature=0)\n"
GONE = "\n\ndef test_gone(llm):\n    llm.complete('delete me', temperature=0)\n"


def test_unused_recordings_are_listed_and_pruned(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rec=KEEP + GONE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        result, _ = run(pytester, "--llmops-record-mode=once")
        assert result.ret == 0, result.stdout.str()
    gone = pytester.path / "recordings" / "test_rec" / "test_gone.json"
    keep = pytester.path / "recordings" / "test_rec" / "test_keep.json"
    assert gone.is_file() and keep.is_file()
    pytester.makepyfile(test_rec=KEEP)  # test_gone deleted from its module

    result, report = run(pytester)
    assert result.ret == 0, result.stdout.str()
    assert report["unused_recordings"] == [str(gone)]
    assert "1 unused recording(s)" in result.stdout.str() and "--llmops-prune-recordings" in result.stdout.str()
    result, partial = run(pytester, "test_rec.py::test_keep")  # a partial run cannot know: lists nothing
    assert partial["unused_recordings"] == [] and gone.is_file()

    result, pruned = run(pytester, "--llmops-prune-recordings")
    assert result.ret == 0, result.stdout.str()
    assert pruned["unused_recordings"] == [str(gone)]
    assert "1 pruned recording(s)" in result.stdout.str()
    assert not gone.exists() and keep.is_file()
    _, after = run(pytester)
    assert after["unused_recordings"] == []


# -- 10. PII redaction --------------------------------------------------------------------------------------

PII_SUITE = """
def test_pii(llm, llmops):
    reply = llm.complete("Send the invoice to jane.doe@example.com today.", temperature=0)
    llmops.artifact("answer", reply.text)
"""


def test_redact_pii_keeps_the_email_out_of_files_and_still_replays(pytester: pytest.Pytester) -> None:
    email = "jane.doe@example.com"
    pytester.makepyfile(test_pii=PII_SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        result, live = run(pytester, "--llmops-record-mode=once", "--llmops-redact-pii")
        assert result.ret == 0, result.stdout.str()
        assert email in user_texts(server)[0]  # the provider got the real prompt
    cassette = pytester.path / "recordings" / "test_pii" / "test_pii.json"
    for path in (cassette, pytester.path / "r.json"):
        assert email not in path.read_text(encoding="utf-8"), path
    assert "[email]" in cassette.read_text(encoding="utf-8")
    result, replay = run(pytester, "--llmops-record-mode=none", "--llmops-redact-pii")
    assert result.ret == 0, result.stdout.str()
    (call,) = replay["tests"][0]["calls"]
    assert call["cached"] is True and call["key"] == live["tests"][0]["calls"][0]["key"]
    assert email not in (pytester.path / "r.json").read_text(encoding="utf-8")


def test_recordings_cli_lists_and_prunes_what_a_complete_run_did_not_use(pytester: pytest.Pytester) -> None:
    import json as _json
    import subprocess
    import sys

    pytester.makepyfile(test_x="def test_a(llm):\n    pass\n")
    gone = pytester.path / "recordings" / "test_x" / "test_gone.json"
    gone.parent.mkdir(parents=True)
    gone.write_text(_json.dumps({"version": 1, "test": "test_x.py::test_gone", "entries": []}))
    kept = pytester.path / "recordings" / "test_other" / "test_b.json"  # another module: not judged by this run
    kept.parent.mkdir(parents=True)
    kept.write_text(_json.dumps({"version": 1, "test": "test_other.py::test_b", "entries": []}))
    pytester.runpytest("--llmops-report=r.json").assert_outcomes(passed=1)
    cli = [sys.executable, "-m", "pytest_llmops.cli", "recordings"]
    listed = subprocess.run([*cli, "unused", "--report", "r.json"], cwd=pytester.path, capture_output=True, text=True)
    assert listed.returncode == 0 and "test_gone.json" in listed.stdout and "test_b.json" not in listed.stdout
    pruned = subprocess.run([*cli, "prune", "--report", "r.json"], cwd=pytester.path, capture_output=True, text=True)
    assert pruned.returncode == 0, pruned.stderr
    assert not gone.exists() and kept.exists()
