"""The call engine over real HTTP: litellm -> LoopbackServer on 127.0.0.1 (no network)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytest_llmops.record.recorder import TestRecorder, set_sample_index

from pytest_llmops.calls.engine import CallEngine, CallSettings
from pytest_llmops.calls.ledger import RunLedger
from pytest_llmops.calls.retry import RetryPolicy
from pytest_llmops.errors import ConfigError, ProviderError, RecordingError, RecordingMissing
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("litellm")

REPO = Path(__file__).resolve().parents[1]
MODEL = "openai/gpt-4o-mini"
PRICES = {MODEL: (0.15, 0.60)}
NODE = "tests/test_app.py::test_answer[case-1]"


@pytest.fixture(scope="module")
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def fresh(server):
    server.apply_control({"clear_queues": True, "clear_requests": True})
    return server


def make_engine(tmp_path: Path, mode: str, server: LoopbackServer, **overrides) -> CallEngine:
    overrides.setdefault("prices", PRICES)
    overrides.setdefault("default_params", {"api_base": server.base_url, "api_key": "sk-loopback-0000", "temperature": 0})
    settings = CallSettings(
        record_mode=mode,
        recordings_dir=tmp_path / "recordings",
        default_model=MODEL,
        retry=RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=0.05, timeout_s=10, jitter=0),
        **overrides,
    )
    return CallEngine(settings)


def run_test(engine: CallEngine, body, nodeid: str = NODE):
    recorder = TestRecorder(nodeid)
    engine.begin_test(nodeid, recorder, engine.cassette_path_for(nodeid))
    try:
        result = body()
    finally:
        report = engine.end_test()
    return result, recorder, report


def model_requests(server: LoopbackServer) -> list[dict]:
    return [r for r in server.requests if r["path"].endswith(("/chat/completions", "/embeddings", "/completions"))]


def test_none_mode_miss_raises_recording_missing_with_instructions(tmp_path, fresh):
    engine = make_engine(tmp_path, "none", fresh)
    with pytest.raises(RecordingMissing) as info:
        run_test(engine, lambda: engine.complete("Which plan includes SSO for every seat?"))
    message = str(info.value)
    assert NODE in message and MODEL in message and "Which plan includes SSO" in message
    assert "--llmops-record-mode=once" in message
    assert model_requests(fresh) == []


def test_once_records_then_replays_identically(tmp_path, fresh):
    first = make_engine(tmp_path, "once", fresh)
    live, rec1, report1 = run_test(first, lambda: first.complete("hello there"))
    assert live.cached is False and live.text.startswith("loopback answer")
    assert live.cost_usd == pytest.approx((live.usage["prompt_tokens"] * 0.15 + live.usage["completion_tokens"] * 0.6) / 1e6)
    assert report1["recorded"] == 1 and Path(first.cassette_path_for(NODE)).exists()
    assert len(model_requests(fresh)) == 1
    call = rec1.calls[0]
    assert call["cached"] is False and call["provider"] == "openai" and call["source"] == "fixture"
    assert call["total_tokens"] == live.usage["total_tokens"] > 0

    second = make_engine(tmp_path, "once", fresh)
    replay, rec2, report2 = run_test(second, lambda: second.complete("hello there"))
    assert len(model_requests(fresh)) == 1  # nothing went over the wire
    assert (replay.text, replay.usage) == (live.text, live.usage)
    assert replay.cached is True and replay.cost_usd == 0.0
    assert replay.replayed_cost_usd == pytest.approx(live.cost_usd)
    assert rec2.calls[0]["recorded_latency_s"] == pytest.approx(live.latency_s, abs=1e-3)
    assert report2 == {**report2, "used": 1, "recorded": 0, "unused_keys": []}

    third = make_engine(tmp_path, "once", fresh)  # cassette exists -> replay only
    with pytest.raises(RecordingMissing, match="new_episodes"):
        run_test(third, lambda: third.complete("a question never recorded"))


def test_new_episodes_replays_hits_records_misses_and_reports_unused(tmp_path, fresh):
    engine = make_engine(tmp_path, "new_episodes", fresh)
    run_test(engine, lambda: (engine.complete("q1"), engine.complete("q2")))
    assert len(model_requests(fresh)) == 2
    engine = make_engine(tmp_path, "new_episodes", fresh)
    (r1, r3), _, report = run_test(engine, lambda: (engine.complete("q1"), engine.complete("q3")))
    assert r1.cached and not r3.cached
    assert len(model_requests(fresh)) == 3
    assert report["used"] == 1 and report["recorded"] == 1 and len(report["unused_keys"]) == 1
    entries = json.loads(engine.cassette_path_for(NODE).read_text())["entries"]
    assert sorted(e["request"]["messages"][0]["content"] for e in entries) == ["q1", "q2", "q3"]
    assert engine.unused_report()["unused_entries"] == {report["cassette"]: report["unused_keys"]}


def test_all_mode_rewrites_cassette_with_this_runs_calls_only(tmp_path, fresh):
    engine = make_engine(tmp_path, "once", fresh)
    run_test(engine, lambda: engine.complete("old question"))
    engine = make_engine(tmp_path, "all", fresh)
    reply, _, _ = run_test(engine, lambda: engine.complete("new question"))
    assert reply.cached is False
    entries = json.loads(engine.cassette_path_for(NODE).read_text())["entries"]
    assert [e["request"]["messages"][0]["content"] for e in entries] == ["new question"]


def test_off_mode_calls_live_and_writes_nothing(tmp_path, fresh):
    engine = make_engine(tmp_path, "off", fresh)
    reply, rec, report = run_test(engine, lambda: (engine.complete("x"), engine.complete("x"))[1])
    assert reply.cached is False and len(model_requests(fresh)) == 2
    assert report["cassette"] is None and not (tmp_path / "recordings").exists()


def test_occurrences_and_samples_get_their_own_recordings(tmp_path, fresh):
    engine = make_engine(tmp_path, "once", fresh)

    def body():
        a = engine.complete("roll a die", temperature=1)
        b = engine.complete("roll a die", temperature=1)
        set_sample_index(1)
        try:
            c = engine.complete("roll a die", temperature=1)
        finally:
            set_sample_index(0)
        return a, b, c

    live, rec, _ = run_test(engine, body)
    assert len({r.text for r in live}) == 3  # temperature 1: the loopback server samples a new answer
    assert [c["sample"] for c in rec.calls] == [0, 0, 1]
    assert len({c["key"] for c in rec.calls}) == 3
    engine = make_engine(tmp_path, "none", fresh)
    replayed, _, _ = run_test(engine, body)
    assert [r.text for r in replayed] == [r.text for r in live]
    assert all(r.cached for r in replayed)


def test_embeddings_record_and_replay(tmp_path, fresh):
    engine = make_engine(tmp_path, "once", fresh, prices={MODEL: (0.15, 0.6), "openai/text-embedding-3-small": (0.02, 0)})
    model = "openai/text-embedding-3-small"
    live, _, _ = run_test(engine, lambda: engine.embed(["alpha", "beta"], model=model))
    assert len(live.vectors) == 2 and len(live.vectors[0]) == 16
    engine = make_engine(tmp_path, "none", fresh)
    replay, rec, _ = run_test(engine, lambda: engine.embed(["alpha", "beta"], model=model))
    assert replay.vectors == live.vectors and replay.cached
    assert rec.calls[0]["kind"] == "embedding"


def test_async_calls_record_and_replay(tmp_path, fresh):
    async def many(engine):
        return await asyncio.gather(*(engine.acomplete(f"question {i}") for i in range(5)))

    engine = make_engine(tmp_path, "once", fresh)
    live, rec, _ = run_test(engine, lambda: asyncio.run(many(engine)))
    assert [r.text.endswith(f"question {i}") for i, r in enumerate(live)] == [True] * 5
    engine = make_engine(tmp_path, "none", fresh)
    replay, _, _ = run_test(engine, lambda: asyncio.run(many(engine)))
    assert [r.text for r in replay] == [r.text for r in live] and all(r.cached for r in replay)


def test_replayed_complete_does_not_import_litellm(tmp_path, fresh):
    engine = make_engine(tmp_path, "once", fresh)
    live, _, _ = run_test(engine, lambda: engine.complete("no imports please"))
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from pytest_llmops.calls.engine import CallEngine, CallSettings
        from pytest_llmops.calls.retry import RetryPolicy
        from pytest_llmops.record.recorder import TestRecorder
        engine = CallEngine(CallSettings(record_mode="none", recordings_dir=Path({str(tmp_path / "recordings")!r}),
                                         default_model={MODEL!r},
                                         default_params={{"api_base": "http://127.0.0.1:9/v1", "temperature": 0}}))
        engine.begin_test({NODE!r}, TestRecorder("x"), engine.cassette_path_for({NODE!r}))
        reply = engine.complete("no imports please")
        engine.end_test()
        print(json.dumps({{"text": reply.text, "cached": reply.cached, "litellm": "litellm" in sys.modules}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"text": live.text, "cached": True, "litellm": False}


def test_secrets_never_reach_the_cassette(tmp_path, fresh, monkeypatch):
    api_key = "sk-test-FAKEKEY-1234567890"
    token = "tok-service-abcdef-987654"
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("MY_SERVICE_TOKEN", token)
    engine = make_engine(tmp_path, "once", fresh)
    prompt = f"Use key {api_key} and token {token} to log in"
    reply, _, _ = run_test(engine, lambda: engine.complete(prompt, api_key=api_key, extra_body={"auth": token}))
    assert token in reply.text  # the loopback server echoes the question back
    text = engine.cassette_path_for(NODE).read_text()
    assert api_key not in text and token not in text and "sk-loopback-0000" not in text
    assert "<redacted:MY_SERVICE_TOKEN>" in text and "<redacted:OPENAI_API_KEY>" in text
    # the key is computed from the original request, so replay still finds it
    engine = make_engine(tmp_path, "none", fresh)
    replay, _, _ = run_test(engine, lambda: engine.complete(prompt, api_key=api_key, extra_body={"auth": token}))
    assert replay.cached


def test_corrupt_cassette_is_an_error_not_a_rerecording(tmp_path, fresh):
    engine = make_engine(tmp_path, "new_episodes", fresh)
    path = engine.cassette_path_for(NODE)
    path.parent.mkdir(parents=True)
    path.write_text('{"version": 1, "entries": [{"key": ')
    with pytest.raises(RecordingError) as info:
        run_test(engine, lambda: engine.complete("hi"))
    assert str(path) in str(info.value) and ":1:" in str(info.value)
    assert path.read_text() == '{"version": 1, "entries": [{"key": '
    assert model_requests(fresh) == []


def test_faults_are_retried_and_metered(tmp_path, fresh):
    fresh.queue_fault("500")
    engine = make_engine(tmp_path, "new_episodes", fresh)
    reply, rec, _ = run_test(engine, lambda: engine.complete("retry me"))
    assert reply.retries == 1 and rec.calls[0]["retries"] == 1 and rec.calls[0]["error"] is None

    fresh.queue_fault("401")
    engine = make_engine(tmp_path, "new_episodes", fresh)
    with pytest.raises(ProviderError):
        run_test(engine, lambda: engine.complete("auth fails"), nodeid="tests/test_app.py::test_auth")
    recorder = TestRecorder("x")
    fresh.queue_fault("429", count=5)
    engine.begin_test("tests/test_app.py::test_rate", recorder, engine.cassette_path_for("tests/test_app.py::test_rate"))
    with pytest.raises(ProviderError):
        engine.complete("rate limited")
    report = engine.end_test()
    call = recorder.calls[0]
    assert call["error"]["kind"] == "rate_limit" and call["retries"] == 2 and call["cost_usd"] == 0.0
    assert report["recorded"] == 0 and not engine.cassette_path_for("tests/test_app.py::test_rate").exists()


def test_ledger_counts_live_spend_only(tmp_path, fresh):
    ledger = RunLedger(tmp_path / "ledger.sqlite", max_cost_usd=1.0, concurrency=2)
    engine = make_engine(tmp_path, "once", fresh, ledger=ledger)
    live, _, _ = run_test(engine, lambda: engine.complete("count me"))
    engine = make_engine(tmp_path, "once", fresh, ledger=ledger)
    run_test(engine, lambda: engine.complete("count me"))  # replayed: not counted
    totals = ledger.totals()
    assert totals["live_calls"] == 1 and totals["spent_usd"] == pytest.approx(live.cost_usd)
    assert totals["tokens"] == live.usage["total_tokens"]


def test_missing_model_is_a_config_error(tmp_path, fresh):
    engine = CallEngine(CallSettings(record_mode="off", recordings_dir=tmp_path))
    with pytest.raises(ConfigError, match="llmops_model"):
        run_test(engine, lambda: engine.complete("hi"))
    with pytest.raises(ConfigError, match="record mode"):
        CallSettings(record_mode="sometimes")


@pytest.mark.slow  # a fresh interpreter imports litellm (several seconds)
def test_concurrent_processes_write_their_own_cassettes_and_one_ledger(tmp_path, fresh):
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from pytest_llmops.calls.engine import CallEngine, CallSettings
        from pytest_llmops.calls.ledger import RunLedger
        from pytest_llmops.record.recorder import TestRecorder
        base_url, rec_dir, ledger_path, nodeid = sys.argv[1:5]
        ledger = RunLedger(Path(ledger_path), max_cost_usd=10.0, concurrency=2)
        engine = CallEngine(CallSettings(record_mode="once", recordings_dir=Path(rec_dir), default_model="openai/gpt-4o-mini",
                                         default_params={"api_base": base_url, "api_key": "sk-x-000000"},
                                         prices={"openai/gpt-4o-mini": (0.15, 0.6)}, ledger=ledger))
        engine.begin_test(nodeid, TestRecorder(nodeid), engine.cassette_path_for(nodeid))
        for i in range(4):
            engine.complete(f"{nodeid} question {i}", temperature=0)
        engine.end_test()
        """
    )
    rec_dir, ledger_path = tmp_path / "recordings", tmp_path / "ledger.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, fresh.base_url, str(rec_dir), str(ledger_path), f"tests/test_p.py::test_{n}"],
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
        for n in ("one", "two")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for n in ("one", "two"):
        entries = json.loads((rec_dir / "tests" / "test_p" / f"test_{n}.json").read_text())["entries"]
        assert len(entries) == 4
    totals = RunLedger(ledger_path).totals()
    assert totals["live_calls"] == 8 and totals["spent_usd"] > 0


def test_redact_pii_keeps_pii_out_of_cassette_but_replay_still_matches(tmp_path, fresh):
    engine = make_engine(tmp_path, "once", fresh, redact_pii=True)
    prompt = "Email jane.doe@example.com about the refund"
    live, _, _ = run_test(engine, lambda: engine.complete(prompt))
    assert "jane.doe@example.com" in live.text  # live answer is untouched
    text = engine.cassette_path_for(NODE).read_text()
    assert "jane.doe@example.com" not in text and "[email]" in text
    engine = make_engine(tmp_path, "none", fresh, redact_pii=True)
    replay, _, _ = run_test(engine, lambda: engine.complete(prompt))
    assert replay.cached and "[email]" in replay.text


def test_logprobs_and_message_validation(tmp_path, fresh):
    engine = make_engine(tmp_path, "off", fresh)
    reply, _, _ = run_test(engine, lambda: engine.complete([{"role": "user", "content": "score it"}], logprobs=True, top_logprobs=2))
    assert reply.logprobs and reply.logprobs["content"]
    with pytest.raises(ConfigError, match="messages"):
        run_test(engine, lambda: engine.complete([{"content": "no role"}]))
    with pytest.raises(ConfigError, match="texts"):
        run_test(engine, lambda: engine.embed([]))


def test_llm_client_defaults_and_overrides(tmp_path, fresh):
    from pytest_llmops.calls.client import LLM

    engine = make_engine(tmp_path, "off", fresh, default_params={"api_base": fresh.base_url, "api_key": "sk-l-000000"})
    llm = LLM(engine, model=MODEL, temperature=0)

    def body():
        a = llm.complete("same")
        b = llm.with_options(temperature=1).complete("same")
        vectors = llm.embed("one text", model="openai/text-embedding-3-small")
        return a, b, vectors

    (a, b, vectors), _, _ = run_test(engine, body)  # litellm's cost map prices the embedding model
    sent = model_requests(fresh)
    assert [r.get("temperature") for r in sent[:2]] == [0, 1]
    assert "temperature" not in sent[2]  # sampling defaults are not sent to the embeddings endpoint
    assert len(vectors) == 1 and a.text.startswith("loopback answer") and b.text.startswith("loopback sample")
