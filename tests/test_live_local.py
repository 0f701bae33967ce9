"""The live tier: real, stochastic answers of SmolLM2-135M through the whole layer, recorded then replayed.

Runs in CI (`.ci/run` runs every test); select it alone with `-m live_local`.
"""

from __future__ import annotations

import pytest
from conftest import by_nodeid, load_report

llama_cpp = pytest.importorskip("llama_cpp", reason="the [local] extra (llama-cpp-python) is not installed")

SUITE = """
import pytest

@pytest.mark.sampling(n=3, min_pass_rate=0.3, early_stop=False)
@pytest.mark.budget(tokens=400)
def test_greeting(llm, llmops):
    reply = llm.complete([{"role": "user", "content": "Say hello to a customer named Ada in one sentence."}],
                         temperature=0.9, max_tokens=24)
    llmops.artifact("text", reply.text)
    assert reply.text.strip()
    assert reply.usage["completion_tokens"] > 0
"""


@pytest.mark.live_local
def test_record_then_replay_real_model(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmops.testing.local_model import LocalModelServer, local_model_available

    ok, reason = local_model_available()
    if not ok:
        pytest.skip(reason)
    pytester.makepyfile(test_live=SUITE)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-not-secret")  # the local server accepts any key
    with LocalModelServer() as server:
        pytester.makeini(
            f"[pytest]\nllmops_model = {server.model}\nllmops_api_base = {server.base_url}\n"
            "llmops_prices = openai/smollm2-135m = 0.10 0.20\n"
        )
        recorded = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=live.json")
        assert recorded.ret == 0, recorded.stdout.str()
    # the server is gone: the replay must not need it
    replayed = pytester.runpytest_subprocess("--llmops-record-mode=none", "--llmops-report=replay.json")
    assert replayed.ret == 0, replayed.stdout.str()

    live = by_nodeid(load_report(pytester.path / "live.json"))["test_live.py::test_greeting"]
    again = by_nodeid(load_report(pytester.path / "replay.json"))["test_live.py::test_greeting"]
    assert live["sampling"]["n_run"] == again["sampling"]["n_run"] == 3
    texts = [c for c in live["calls"]]
    assert all(not c["cached"] and c["cost_usd"] > 0 for c in texts)
    assert all(c["cached"] and c["cost_usd"] == 0 and c["replayed_cost_usd"] > 0 for c in again["calls"])
    assert [c["key"] for c in live["calls"]] == [c["key"] for c in again["calls"]]
    assert [c["completion_tokens"] for c in live["calls"]] == [c["completion_tokens"] for c in again["calls"]]
    assert len({c["key"] for c in live["calls"]}) == 3  # one recording per sample
    assert live["artifacts"] == again["artifacts"]
