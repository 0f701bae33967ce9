"""Capture of the app's own litellm calls (real HTTP to the loopback server)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytest_llmops.record.recorder import TestRecorder

from pytest_llmops.calls import capture
from pytest_llmops.calls.engine import CallEngine, CallSettings
from pytest_llmops.calls.retry import RetryPolicy
from pytest_llmops.errors import RecordingMissing
from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")

REPO = Path(__file__).resolve().parents[1]
MODEL = "openai/gpt-4o-mini"
NODE = "tests/test_app.py::test_app_flow"


@pytest.fixture(scope="module")
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
    return CallEngine(CallSettings(record_mode=mode, recordings_dir=tmp_path / "rec", prices={MODEL: (0.15, 0.6), "openai/text-embedding-3-small": (0.02, 0.0)},
                                   retry=RetryPolicy(max_retries=1, base_delay_s=0.01, timeout_s=10)))


def app_answer(server: LoopbackServer, question: str) -> str:
    """'App code': calls litellm directly, knows nothing about pytest-llmops."""
    response = litellm.completion(model=MODEL, messages=[{"role": "user", "content": question}],
                                  api_base=server.base_url, api_key="sk-app-000000", temperature=0)
    return response.choices[0].message.content


def in_test(engine: CallEngine, body):
    recorder = TestRecorder(NODE)
    engine.begin_test(NODE, recorder, engine.cassette_path_for(NODE))
    capture.set_active(engine)
    try:
        return body(), recorder
    finally:
        capture.set_active(None)
        engine.end_test()


def test_app_litellm_calls_are_recorded_and_replayed(tmp_path, server, captured):
    assert capture.is_patched()
    before = len(server.requests)
    engine = engine_for(tmp_path, "once")
    live, rec = in_test(engine, lambda: app_answer(server, "what is our refund policy?"))
    assert len(server.requests) == before + 1
    assert rec.calls[0]["source"] == "captured" and rec.calls[0]["cached"] is False
    engine = engine_for(tmp_path, "none")
    replayed, rec2 = in_test(engine, lambda: app_answer(server, "what is our refund policy?"))
    assert replayed == live and len(server.requests) == before + 1
    assert rec2.calls[0]["cached"] is True and rec2.calls[0]["replayed_cost_usd"] > 0


def test_captured_replay_returns_litellm_objects_for_async_and_embeddings(tmp_path, server, captured):
    async def app():
        chat = await litellm.acompletion(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                         api_base=server.base_url, api_key="sk-app-000000", temperature=0)
        emb = await litellm.aembedding(model="openai/text-embedding-3-small", input=["a", "b"],
                                       api_base=server.base_url, api_key="sk-app-000000")
        return chat, emb

    engine = engine_for(tmp_path, "once")
    (chat, emb), _ = in_test(engine, lambda: asyncio.run(app()))
    engine = engine_for(tmp_path, "none")
    (chat2, emb2), rec = in_test(engine, lambda: asyncio.run(app()))
    assert isinstance(chat2, litellm.ModelResponse) and isinstance(emb2, litellm.EmbeddingResponse)
    assert chat2.choices[0].message.content == chat.choices[0].message.content
    assert emb2.data[0]["embedding"] == emb.data[0]["embedding"]
    assert [c["kind"] for c in rec.calls] == ["completion", "embedding"] and all(c["cached"] for c in rec.calls)


def test_outside_a_test_calls_pass_through(tmp_path, server, captured):
    engine = engine_for(tmp_path, "none")  # replay-only, but no test is running
    capture.set_active(engine)
    try:
        assert app_answer(server, "plain call").startswith("loopback answer")
    finally:
        capture.set_active(None)


def test_streaming_is_refused_in_replay_only_mode(tmp_path, server, captured):
    engine = engine_for(tmp_path, "none")

    def body():
        return litellm.completion(model=MODEL, messages=[{"role": "user", "content": "s"}], stream=True,
                                  api_base=server.base_url, api_key="sk-app-000000")

    with pytest.raises(RecordingMissing, match="streaming"):
        in_test(engine, body)


def test_uninstall_restores_originals(captured):
    patched = litellm.completion
    capture.uninstall()  # the fixture's install; the plugin running this test session holds one more
    assert capture.is_patched(), "a nested uninstall must not switch off the outer session's capture"
    capture.uninstall()
    assert litellm.completion is patched.__llmops_original__
    assert not capture.is_patched()
    capture.install()  # give the outer session its install back
    capture.install()  # and the fixture's, which its teardown undoes


@pytest.mark.slow  # a fresh interpreter imports litellm (several seconds)
def test_hook_patches_litellm_imported_after_install(tmp_path, server):
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from pytest_llmops.calls import capture
        from pytest_llmops.calls.engine import CallEngine, CallSettings
        from pytest_llmops.record.recorder import TestRecorder
        capture.install()
        assert "litellm" not in sys.modules
        from litellm import completion          # the app imports litellm after the plugin loaded
        import litellm
        base_url, rec_dir = sys.argv[1:3]
        engine = CallEngine(CallSettings(record_mode="once", recordings_dir=Path(rec_dir),
                                         prices={"openai/gpt-4o-mini": (0.15, 0.6)}))
        recorder = TestRecorder("t.py::t")
        engine.begin_test("t.py::t", recorder, engine.cassette_path_for("t.py::t"))
        capture.set_active(engine)
        r = completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "late import"}],
                       api_base=base_url, api_key="sk-x-000000", temperature=0)
        engine.end_test()
        print(json.dumps({"patched": capture.is_patched(), "calls": len(recorder.calls),
                          "source": recorder.calls[0]["source"], "text": r.choices[0].message.content,
                          "banner": litellm.suppress_debug_info}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    out = subprocess.run([sys.executable, "-c", script, server.base_url, str(tmp_path / "rec")], cwd=REPO,
                         capture_output=True, text=True, timeout=120, env={**env, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"patched": True, "calls": 1, "source": "captured", "text": "loopback answer " + result["text"][16:],
                      "banner": True}
    assert "late import" in result["text"]
    assert "Give Feedback" not in out.stdout + out.stderr
