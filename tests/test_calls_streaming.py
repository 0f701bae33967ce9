"""Streamed calls recorded and replayed: litellm (sync, async), the llm fixture, budgets and metering (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inner_runs import configure, model_requests, run

from pytest_llmops.calls import capture
from pytest_llmops.calls.engine import CallEngine, CallSettings
from pytest_llmops.calls.retry import RetryPolicy
from pytest_llmops.record.recorder import TestRecorder
from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")

MODEL = "openai/loopback-model"
NODE = "tests/test_app.py::test_stream"
TOOL_CALL = {"tool_calls": [{"id": "call_1", "type": "function",
                             "function": {"name": "lookup_order", "arguments": "{\"order\": \"A-17\"}"}}]}


@pytest.fixture
def server():
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def captured():
    capture.install()
    yield
    capture.set_active(None)
    capture.uninstall()


def engine_for(tmp_path: Path, mode: str) -> CallEngine:
    return CallEngine(CallSettings(record_mode=mode, recordings_dir=tmp_path / "rec", prices={MODEL: (1.0, 2.0)},
                                   retry=RetryPolicy(max_retries=0, timeout_s=10)))


def in_test(engine: CallEngine, body):
    recorder = TestRecorder(NODE)
    engine.begin_test(NODE, recorder, engine.cassette_path_for(NODE))
    capture.set_active(engine)
    try:
        return body(), recorder
    finally:
        capture.set_active(None)
        engine.end_test()


def chunk_view(chunk) -> tuple:
    """What an app reads from a chunk: text delta, tool-call deltas, finish reason, usage."""
    choice = chunk.choices[0] if chunk.choices else None
    delta = choice.delta if choice else None
    tools = [(t.index, t.id, t.function.name, t.function.arguments) for t in (delta.tool_calls or [])] if delta else []
    usage = getattr(chunk, "usage", None)
    return (delta.content if delta else None, tuple(tools), choice.finish_reason if choice else None,
            usage.total_tokens if usage else None)


def sync_app(server: LoopbackServer, question: str, **extra) -> list[tuple]:
    stream = litellm.completion(model=MODEL, messages=[{"role": "user", "content": question}], stream=True,
                                api_base=server.base_url, api_key="sk-app-000000", temperature=0, **extra)
    return [chunk_view(c) for c in stream]


def async_app(server: LoopbackServer, question: str) -> list[tuple]:
    async def main():
        stream = await litellm.acompletion(model=MODEL, messages=[{"role": "user", "content": question}],
                                           stream=True, api_base=server.base_url, api_key="sk-app-000000",
                                           temperature=0, stream_options={"include_usage": True})
        return [chunk_view(c) async for c in stream]

    return asyncio.run(main())


def test_litellm_streams_record_then_replay_the_same_chunks_with_no_request(tmp_path, server, captured):
    server.queue_response(TOOL_CALL)

    def app():
        return (sync_app(server, "where is order A-17?"), sync_app(server, "what is your refund policy?"),
                async_app(server, "and for annual plans?"))

    live, rec = in_test(engine_for(tmp_path, "once"), app)
    sent = len(model_requests(server))
    assert sent == 3
    tools, text, async_text = live
    assert any(t[1] for t in tools) and tools[-1][2] == "tool_calls"  # tool-call deltas and their finish reason
    assert "".join(t[0] or "" for t in text).startswith("loopback answer")
    assert async_text[-1][3] and async_text[-1][3] > 0  # the final usage chunk
    assert all(c["stream"] and not c["cached"] and c["ttft_s"] is not None for c in rec.calls)

    replayed, rec2 = in_test(engine_for(tmp_path, "none"), app)
    assert len(model_requests(server)) == sent, "a replayed stream reached the server"
    assert replayed == live  # same chunk sequence, so the assembled text is byte-identical
    assert [c["recorded_ttft_s"] for c in rec2.calls] == [c["ttft_s"] for c in rec.calls]
    assert all(c["cached"] and c["replayed_cost_usd"] > 0 for c in rec2.calls)
    assert [c["total_tokens"] for c in rec2.calls] == [c["total_tokens"] for c in rec.calls]


def test_recording_keeps_chunks_ttft_and_the_assembled_response(tmp_path, server, captured):
    in_test(engine_for(tmp_path, "once"), lambda: sync_app(server, "keep the chunks"))
    doc = json.loads(next((tmp_path / "rec").rglob("*.json")).read_text())
    (entry,) = doc["entries"]
    assert entry["request"]["stream"] is True
    chunks = entry["stream"]["chunks"]
    assert len(chunks) > 3 and entry["stream"]["ttft_s"] >= 0 and entry["latency_s"] >= entry["stream"]["ttft_s"]
    text = "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c.get("choices"))
    assert entry["response"]["choices"][0]["message"]["content"] == text
    # no usage in the stream (no include_usage): counted tokens, so metering and budgets still see the call
    assert entry["usage"]["completion_tokens"] > 0


def test_stream_and_plain_calls_have_their_own_recordings(tmp_path, server, captured):
    def plain():
        return litellm.completion(model=MODEL, messages=[{"role": "user", "content": "same"}], temperature=0,
                                  api_base=server.base_url, api_key="sk-app-000000").choices[0].message.content

    in_test(engine_for(tmp_path, "once"), plain)
    from pytest_llmops.errors import RecordingMissing

    with pytest.raises(RecordingMissing, match="streaming completion"):
        in_test(engine_for(tmp_path, "none"), lambda: sync_app(server, "same"))


FIXTURE_SUITE = """
import pytest

def test_stream(llm, llmops):
    stream = llm.stream("tell me about refunds", temperature=0)
    parts = list(stream)
    assert len(parts) > 3 and "".join(parts) == stream.text == stream.reply.text
    llmops.artifact("text", stream.text)
    llmops.metric("cached", float(stream.reply.cached))

def test_complete_streamed(llm, llmops):
    reply = llm.complete("and about invoices?", temperature=0, stream=True)
    llmops.artifact("text", reply.text)

async def _astream(llm):
    stream = await llm.astream("async refunds", temperature=0)
    return [part async for part in stream], stream

def test_astream(llm, llmops):
    import asyncio
    parts, stream = asyncio.run(_astream(llm))
    assert "".join(parts) == stream.reply.text
    llmops.artifact("text", stream.text)

@pytest.mark.budget(p95_latency_s=0.2)
def test_slow_stream(llm):
    llm.stream("slow answer", temperature=0).read()
"""


def test_llm_fixture_streams_record_and_replay_through_the_plugin(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-secret")
    with LoopbackServer(latency_s=0.3) as server:
        configure(pytester, server.base_url)
        pytester.makepyfile(test_s=FIXTURE_SUITE)
        result, live = run(pytester, "--llmops-record-mode=once", "-p", "no:randomly")
        result.assert_outcomes(passed=3, failed=1)  # the slow stream blows its latency budget live
        sent = len(model_requests(server))
        assert sent == 4
        result, again = run(pytester, "-p", "no:randomly")
        assert len(model_requests(server)) == sent, "the replay run reached the server"
    # replayed: same texts; the budget applies to the recorded latency, so the slow stream fails again
    result.assert_outcomes(passed=3, failed=1)
    assert "p95 latency" in result.stdout.str()
    before = {t["nodeid"]: t for t in live["tests"]}
    after = {t["nodeid"]: t for t in again["tests"]}
    for nodeid, test in before.items():
        assert test["artifacts"] == after[nodeid]["artifacts"]
        for live_call, replayed_call in zip(test["calls"], after[nodeid]["calls"], strict=True):
            assert live_call["stream"] and replayed_call["cached"]
            assert replayed_call["recorded_ttft_s"] == live_call["ttft_s"] and live_call["ttft_s"] >= 0.25
            assert replayed_call["recorded_latency_s"] >= 0.3


def retrying_engine(tmp_path: Path, retries: int) -> CallEngine:
    return CallEngine(CallSettings(record_mode="once", recordings_dir=tmp_path / "rec", prices={MODEL: (1.0, 2.0)},
                                   retry=RetryPolicy(max_retries=retries, base_delay_s=0.01, timeout_s=10)))


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_stream_broken_before_its_first_token_is_retried_before_the_app_reads_it(tmp_path, server, captured,
                                                                                     flavour):
    server.queue_fault("malformed")  # HTTP 200, an event stream whose first event is cut in half
    app = sync_app if flavour == "sync" else async_app
    chunks, rec = in_test(retrying_engine(tmp_path, retries=1), lambda: app(server, "what is your refund policy?"))
    assert len(model_requests(server)) == 2  # the broken stream, then the retry
    assert "".join(c[0] or "" for c in chunks).startswith("loopback answer")  # the app saw only the good stream
    (call,) = rec.calls
    assert call["retries"] == 1 and call["stream"] and not call.get("error")


def test_a_stream_broken_on_every_attempt_is_a_provider_error_not_an_empty_answer(tmp_path, server, captured):
    from pytest_llmops.errors import ProviderError

    server.queue_fault("malformed", count=2)
    with pytest.raises(ProviderError, match="after 2 attempts") as info:
        in_test(retrying_engine(tmp_path, retries=1), lambda: sync_app(server, "what is your refund policy?"))
    assert info.value.retryable and len(model_requests(server)) == 2


def test_an_empty_event_stream_is_malformed(tmp_path):
    from pytest_llmops.calls.streaming import MalformedStream, prime

    role_only = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    with pytest.raises(MalformedStream, match="after 1 chunk"):
        prime(iter([role_only]))
    primed = prime(iter([role_only, {"choices": [{"index": 0, "delta": {"content": "hi"}}]}, {"choices": []}]))
    assert len(list(primed)) == 3  # the chunks read while priming come first, then the rest


def test_a_stream_that_breaks_after_its_first_token_is_a_metered_provider_error(tmp_path, captured):
    """The app has read part of the answer: not retried, but an error of the provider, never the app's."""
    from pytest_llmops.calls.streaming import LiveStream
    from pytest_llmops.errors import ProviderError

    engine = retrying_engine(tmp_path, retries=3)
    httpx = pytest.importorskip("httpx")

    def chunks():
        yield {"choices": [{"index": 0, "delta": {"content": "The refund"}}]}
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    def body():
        pending = engine.prepare("completion", MODEL, [{"role": "user", "content": "q"}], {"stream": True}, "captured")
        stream = LiveStream(chunks(), 0.0, lambda log: None,
                            lambda exc, log: engine.stream_failed(pending, exc, log.elapsed(), 0))
        return [c for c in stream]

    with pytest.raises(ProviderError, match="broke mid-answer") as info:
        in_test(engine, body)
    assert not info.value.retryable
