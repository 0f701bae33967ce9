"""Provider SDKs captured at the HTTP layer: openai and anthropic, sync/async, streamed or not (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inner_runs import model_requests, run

from pytest_llmops.calls import capture
from pytest_llmops.calls.engine import CallEngine, CallSettings
from pytest_llmops.calls.retry import RetryPolicy
from pytest_llmops.record.recorder import TestRecorder
from pytest_llmops.testing.loopback import LoopbackServer

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

NODE = "tests/test_app.py::test_sdk"
KEY = "sk-proj-SECRETSECRET0123456789abcd"
ANTHROPIC_KEY = "sk-ant-api03-SECRETSECRET0123456789"


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
    prices = {"openai/loopback-model": (1.0, 2.0), "anthropic/claude-test": (3.0, 15.0)}
    return CallEngine(CallSettings(record_mode=mode, recordings_dir=tmp_path / "rec", prices=prices,
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


def record_then_replay(tmp_path: Path, server: LoopbackServer, app) -> tuple:
    live, rec = in_test(engine_for(tmp_path, "once"), app)
    sent = len(model_requests(server))
    assert sent == len(rec.calls) > 0
    replayed, rec2 = in_test(engine_for(tmp_path, "none"), app)
    assert len(model_requests(server)) == sent, "a replayed SDK call reached the server"
    assert replayed == live
    assert all(c["source"] == "http" and not c["cached"] for c in rec.calls)
    assert all(c["cached"] for c in rec2.calls) and len(rec2.calls) == len(rec.calls)
    return live, rec, rec2


def openai_sync(server: LoopbackServer) -> list:
    client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "reset my password"}]
    whole = client.chat.completions.create(model="loopback-model", messages=msgs, temperature=0)
    stream = client.chat.completions.create(model="loopback-model", messages=msgs, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    chunks = [(c.choices[0].delta.content if c.choices else None, c.usage.total_tokens if c.usage else None)
              for c in stream]
    vectors = client.embeddings.create(model="loopback-model", input=["a", "b"]).data
    response = client.responses.create(model="loopback-model", input="what is SSO?", instructions="short")
    events = client.responses.create(model="loopback-model", input="stream SSO", stream=True)
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    return [whole.choices[0].message.content, whole.usage.total_tokens, chunks, [v.embedding for v in vectors],
            response.output_text, deltas]


def openai_async(server: LoopbackServer) -> list:
    async def main():
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        msgs = [{"role": "user", "content": "async question"}]
        whole = await client.chat.completions.create(model="loopback-model", messages=msgs, temperature=0)
        stream = await client.chat.completions.create(model="loopback-model", messages=msgs, temperature=0,
                                                      stream=True)
        return [whole.choices[0].message.content,
                [c.choices[0].delta.content or "" async for c in stream if c.choices]]

    return asyncio.run(main())


def anthropic_app(server: LoopbackServer) -> list:
    root = server.base_url.removesuffix("/v1")
    client = anthropic.Anthropic(base_url=root, api_key=ANTHROPIC_KEY, max_retries=0)
    msgs = [{"role": "user", "content": "hello anthropic"}]
    whole = client.messages.create(model="claude-test", max_tokens=64, system="be brief", messages=msgs)
    with client.messages.stream(model="claude-test", max_tokens=64, messages=msgs) as stream:
        streamed = list(stream.text_stream)
        final = stream.get_final_message().usage.output_tokens

    async def main():
        aclient = anthropic.AsyncAnthropic(base_url=root, api_key=ANTHROPIC_KEY, max_retries=0)
        one = await aclient.messages.create(model="claude-test", max_tokens=64, messages=msgs)
        events = await aclient.messages.create(model="claude-test", max_tokens=64, messages=msgs, stream=True)
        return one.content[0].text, [e.delta.text async for e in events if e.type == "content_block_delta"]

    return [whole.content[0].text, whole.usage.input_tokens, streamed, final, *asyncio.run(main())]


def test_openai_sdk_sync_chat_stream_embeddings_and_responses(tmp_path, server, captured):
    live, rec, _ = record_then_replay(tmp_path, server, lambda: openai_sync(server))
    assert [c["kind"] for c in rec.calls] == ["completion", "completion", "embedding", "responses", "responses"]
    assert [bool(c.get("stream")) for c in rec.calls] == [False, True, False, False, True]
    assert live[2][-1][1] > 0 and len(live[5]) > 3  # the usage chunk, and the Responses API's text deltas
    assert all(c["model"] == "openai/loopback-model" and c["total_tokens"] > 0 for c in rec.calls)


def test_openai_sdk_async(tmp_path, server, captured):
    live, rec, rec2 = record_then_replay(tmp_path, server, lambda: openai_async(server))
    assert "".join(live[1]).startswith("loopback answer")
    assert rec2.calls[1]["recorded_ttft_s"] == rec.calls[1]["ttft_s"]


def test_anthropic_sdk_sync_async_and_streaming(tmp_path, server, captured):
    live, rec, _ = record_then_replay(tmp_path, server, lambda: anthropic_app(server))
    assert {c["kind"] for c in rec.calls} == {"messages"} and len(rec.calls) == 4
    assert all(c["model"] == "anthropic/claude-test" and c["provider"] == "anthropic" for c in rec.calls)
    assert "".join(live[2]).startswith("loopback sample") and live[3] > 0
    assert all(c["completion_tokens"] > 0 and c["cost_usd"] > 0 for c in rec.calls)


def test_a_litellm_recording_replays_the_same_request_sent_by_the_openai_sdk(tmp_path, server, captured):
    import litellm

    msgs = [{"role": "user", "content": "one recording for every route"}]

    def through_litellm():
        reply = litellm.completion(model="openai/loopback-model", messages=msgs, temperature=0,
                                   api_base=server.base_url, api_key=KEY)
        return reply.choices[0].message.content

    def through_sdk():
        client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        return client.chat.completions.create(model="loopback-model", messages=msgs,
                                              temperature=0).choices[0].message.content

    live, rec = in_test(engine_for(tmp_path, "once"), through_litellm)
    sent = len(model_requests(server))
    assert sent == 1 and len(rec.calls) == 1 and rec.calls[0]["source"] == "captured"  # litellm's own httpx
    # request is not recorded a second time by the HTTP hook
    entries = json.loads(next((tmp_path / "rec").rglob("*.json")).read_text())["entries"]
    assert len(entries) == 1
    replayed, rec2 = in_test(engine_for(tmp_path, "none"), through_sdk)
    assert replayed == live and len(model_requests(server)) == sent
    assert rec2.calls[0]["source"] == "http" and rec2.calls[0]["cached"]


def test_an_sdk_retry_after_a_429_is_the_same_occurrence(tmp_path, server, captured):
    server.queue_fault("429")

    def app():
        client = openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=2)
        reply = client.chat.completions.create(model="loopback-model", temperature=0,
                                               messages=[{"role": "user", "content": "retry me"}])
        return reply.choices[0].message.content

    live, rec = in_test(engine_for(tmp_path, "once"), app)
    assert len(model_requests(server)) == 2
    assert [c["error"]["kind"] if c["error"] else None for c in rec.calls] == ["rate_limit", None]
    replayed, rec2 = in_test(engine_for(tmp_path, "none"), app)
    assert replayed == live and len(rec2.calls) == 1 and rec2.calls[0]["cached"]


def test_requests_that_are_not_model_calls_pass_through(tmp_path, server, captured):
    import httpx

    def app():
        with httpx.Client() as client:
            return client.get(server.base_url + "/models").json()["data"][0]["id"]

    assert in_test(engine_for(tmp_path, "none"), app)[0] == "loopback-model"


SDK_SUITE = f"""
import asyncio, os
import anthropic, openai

def test_chat(llmops):
    client = openai.OpenAI(base_url=os.environ["APP_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"])
    stream = client.chat.completions.create(model="loopback-model", temperature=0, stream=True,
                                            messages=[{{"role": "user", "content": "my key is {KEY}"}}])
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    llmops.artifact("text", text.replace(os.environ["OPENAI_API_KEY"], "<key>"))

def test_claude(llmops):
    client = anthropic.Anthropic(base_url=os.environ["APP_BASE_URL"][:-3], api_key="{ANTHROPIC_KEY}")
    reply = client.messages.create(model="claude-test", max_tokens=32, messages=[{{"role": "user", "content": "hi"}}])
    llmops.artifact("text", reply.content[0].text)
"""


def test_sdk_calls_through_the_plugin_replay_offline_and_keep_keys_off_disk(pytester: pytest.Pytester,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    pytester.makepyfile(test_sdk=SDK_SUITE)
    with LoopbackServer() as server:
        monkeypatch.setenv("APP_BASE_URL", server.base_url)
        result, live = run(pytester, "--llmops-record-mode=once", subprocess=True)
        result.assert_outcomes(passed=2)
        sent = len(model_requests(server))
        result, again = run(pytester, subprocess=True)
        result.assert_outcomes(passed=2)
        assert len(model_requests(server)) == sent == 2
        # the loopback server saw the keys: they were really sent ...
        assert any(KEY in json.dumps(r) for r in server.requests)
    assert [t["artifacts"] for t in live["tests"]] == [t["artifacts"] for t in again["tests"]]
    assert all(c["cached"] for t in again["tests"] for c in t["calls"])
    # ... and no file the runs wrote holds them (recordings, run records)
    for path in pytester.path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".txt", ".md", ".html"):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert KEY not in text and ANTHROPIC_KEY not in text, path
    recordings = list((pytester.path / "recordings").rglob("*.json"))
    assert len(recordings) == 2


MISSING_SUITE = """
import os, openai

def test_unrecorded():
    client = openai.OpenAI(base_url=os.environ["APP_BASE_URL"], api_key="sk-test-not-secret", max_retries=0)
    client.chat.completions.create(model="loopback-model", messages=[{"role": "user", "content": "never recorded"}])
"""


def test_a_missing_sdk_recording_is_an_error_that_explains_itself(pytester: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_missing=MISSING_SUITE)
    with LoopbackServer() as server:
        monkeypatch.setenv("APP_BASE_URL", server.base_url)
        result, record = run(pytester, subprocess=True)
        assert model_requests(server) == []
    (test,) = record["tests"]
    assert test["outcome"] == "error" and test["error_kind"] == "recording"
    out = result.stdout.str()
    assert "RecordingMissing: no recording for a completion call (captured at the HTTP layer)" in out
    assert "--llmops-record-mode=once" in out
