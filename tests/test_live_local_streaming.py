"""The live tier, streaming: real SmolLM2 answers streamed through litellm and the openai SDK, then replayed."""

from __future__ import annotations

import pytest
from conftest import load_report

llama_cpp = pytest.importorskip("llama_cpp", reason="the [local] extra (llama-cpp-python) is not installed")

SUITE = """
import asyncio, os
import litellm, openai

QUESTION = [{"role": "user", "content": "Name one color of the sky, in one word."}]

def test_litellm_stream(llmops):
    stream = litellm.completion(model="openai/" + os.environ["LOCAL_ALIAS"], messages=QUESTION, stream=True,
                                api_base=os.environ["LOCAL_BASE"], api_key="sk-local", max_tokens=12,
                                temperature=0.9, timeout=240)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.strip()
    llmops.artifact("text", text)

def test_openai_sdk_stream(llmops):
    async def main():
        client = openai.AsyncOpenAI(base_url=os.environ["LOCAL_BASE"], api_key="sk-local", timeout=240)
        stream = await client.chat.completions.create(model=os.environ["LOCAL_ALIAS"], messages=QUESTION,
                                                      stream=True, max_tokens=12, temperature=0.9)
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    text = asyncio.run(main())
    assert text.strip()
    llmops.artifact("text", text)
"""


@pytest.mark.live_local
def test_real_model_streams_record_then_replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.testing.local_model import LocalModelServer, local_model_available

    ok, reason = local_model_available()
    if not ok:
        pytest.skip(reason)
    pytester.makepyfile(test_live_stream=SUITE)
    pytester.makeini("[pytest]\nllmops_prices =\n    openai/smollm2-135m = 0.10 0.20\n")
    with LocalModelServer() as server:
        monkeypatch.setenv("LOCAL_BASE", server.base_url)
        monkeypatch.setenv("LOCAL_ALIAS", server.alias)
        recorded = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=live.json",
                                                 "--llmops-timeout=240")
        assert recorded.ret == 0, recorded.stdout.str()
    # the server is gone: the replay must not need it
    replayed = pytester.runpytest_subprocess("--llmops-report=replay.json")
    assert replayed.ret == 0, replayed.stdout.str()
    live = {t["nodeid"]: t for t in load_report(pytester.path / "live.json")["tests"]}
    again = {t["nodeid"]: t for t in load_report(pytester.path / "replay.json")["tests"]}
    assert len(live) == 2
    for nodeid, test in live.items():
        (call,) = test["calls"]
        (replayed_call,) = again[nodeid]["calls"]
        assert call["stream"] and not call["cached"] and call["ttft_s"] > 0 and call["completion_tokens"] > 0
        assert replayed_call["cached"] and replayed_call["recorded_ttft_s"] == call["ttft_s"]
        assert test["artifacts"] == again[nodeid]["artifacts"]  # the same streamed text, byte for byte
    sources = {test["calls"][0]["source"] for test in live.values()}
    assert sources == {"captured", "http"}
