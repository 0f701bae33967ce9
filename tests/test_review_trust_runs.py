"""Issue 13 through real pytest runs (pytester) over real HTTP to the loopback server, then the real CLI and
``--llmops-baseline``: a replayed flip is a regression, a live single flip is unconfirmed, a large golden-set
drop is found, a no-change stochastic pair passes ``--fail-on regression``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from inner_runs import configure, run

from pytest_llmops.review.cli import main
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("litellm")

SUITE = '''
import os

def test_replayed(llm):
    reply = llm.complete("What is 2 + 2?", temperature=0)
    assert reply.text
    assert os.environ.get("TRUST_APP_OK", "1") == "1", "the app's own check of the answer changed"

def test_live(llm):
    reply = llm.complete("Name a colour.", temperature=0)
    assert "wrong" not in reply.text, "one bad answer"
'''

GOLDEN_SUITE = '''
import os, random
import pytest
from pytest_llmops.record.recorder import current_sample_index

SEED = os.environ.get("TRUST_SEED", "1")
BROKEN = int(os.environ.get("TRUST_BROKEN", "0"))


@pytest.mark.golden("cases.jsonl")
def test_golden(golden_case, llm, llmops):
    n = int(golden_case.id.split("-")[1])
    llm.complete(f"Answer question {n}.", temperature=0)
    draw = random.Random(f"{SEED}-{golden_case.id}").random()
    llmops.metric("similarity", 0.4 + draw / 2, min=0.5)
    assert n >= BROKEN and draw < 0.8, "case failed"


@pytest.mark.sampling(n=20, min_pass_rate=0.7, early_stop=False)
@pytest.mark.parametrize("i", range(6))
def test_sampled(i):
    assert random.Random(f"{SEED}-{i}-{current_sample_index()}").random() < 0.85
'''


def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-trust-0000")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class Answers:
    """A responder whose answer to "Name a colour." can be switched to a wrong one."""

    def __init__(self) -> None:
        self.wrong = False

    def __call__(self, body: dict[str, Any]) -> str:
        text = body["messages"][-1]["content"]
        return "wrong colour" if self.wrong and "colour" in text else f"answer to: {text}"


def _save(pytester: pytest.Pytester, record: dict[str, Any], name: str) -> str:
    path = pytester.path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def test_replayed_flip_is_a_regression_and_a_live_flip_is_unconfirmed(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _fake_key(monkeypatch)
    pytester.makepyfile(test_app=SUITE)
    answers = Answers()
    with LoopbackServer(responder=answers) as server:
        configure(pytester, server.base_url)
        result, _ = run(pytester, "--llmops-record-mode=once")
        assert result.ret == 0, result.stdout.str()
        # deterministic: every call replayed in both runs; the app's check breaks -> a regression
        result, base = run(pytester, "--llmops-record-mode=none")
        base_path = _save(pytester, base, "base.json")
        monkeypatch.setenv("TRUST_APP_OK", "0")
        result = pytester.runpytest("-p", "no:cacheprovider", "--llmops-record-mode=none",
                                    f"--llmops-baseline={base_path}")
        text = result.stdout.str()
        assert "llmops baseline base.json: ❌ 1 regression" in text
        assert "passed → failed: test_app.py::test_replayed" in text
        assert "session fails: fail-on regression: 1 regression(s)" in text
        monkeypatch.delenv("TRUST_APP_OK")

        # live: one call made live in each run, one bad answer in head -> unconfirmed, the gate passes
        result, live_base = run(pytester, "--llmops-record-mode=off")
        assert result.ret == 0, result.stdout.str()
        live_base_path = _save(pytester, live_base, "live-base.json")
        answers.wrong = True
        result, live_head = run(pytester, "--llmops-record-mode=off")
        assert result.ret == 1  # the test itself failed ...
        live_head_path = _save(pytester, live_head, "live-head.json")
        result = pytester.runpytest("-p", "no:cacheprovider", "--llmops-record-mode=off",
                                    f"--llmops-baseline={live_base_path}")
        text = result.stdout.str()
        assert "llmops baseline live-base.json: ✅ no regressions (1 unconfirmed flip)" in text
        assert "1 unconfirmed flip(s) (one live sample each; not regressions): test_app.py::test_live" in text
        assert "session fails" not in text  # ... but the baseline gate does not fail on one sample
        result = pytester.runpytest("-p", "no:cacheprovider", "--llmops-record-mode=off",
                                    f"--llmops-baseline={live_base_path}", "--llmops-fail-on=flip")
        assert "session fails: fail-on flip: 1 unconfirmed flip(s), e.g. test_app.py::test_live" in result.stdout.str()

    capsys.readouterr()
    assert main(["diff", live_base_path, live_head_path, "--fail-on", "regression"]) == 0
    out = capsys.readouterr().out
    assert "### ❔ Unconfirmed (one sample; not counted as regressions) (1)" in out
    assert "| unconfirmed (one sample) | `test_app.py::test_live` |" in out and "one bad answer" in out
    assert main(["diff", live_base_path, live_head_path, "--fail-on", "flip"]) == 1


def _golden_runs(pytester: pytest.Pytester, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
                 head_env: dict[str, str]) -> tuple[str, str]:
    pytester.makefile(".jsonl", cases="\n".join(json.dumps({"id": f"case-{i}", "input": f"q{i}"}) for i in range(40)))
    pytester.makepyfile(test_golden_app=GOLDEN_SUITE)
    configure(pytester, server.base_url)
    result, base = run(pytester, "--llmops-record-mode=off")
    base_path = _save(pytester, base, "g-base.json")
    for name, value in head_env.items():
        monkeypatch.setenv(name, value)
    result, head = run(pytester, "--llmops-record-mode=off")
    return base_path, _save(pytester, head, "g-head.json")


def test_no_change_stochastic_pair_passes_and_a_large_golden_drop_is_found(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _fake_key(monkeypatch)
    with LoopbackServer() as server:
        base_path, head_path = _golden_runs(pytester, server, monkeypatch, {"TRUST_SEED": "2"})
    capsys.readouterr()
    # fresh draws, no true change: per-case flips and threshold crossings are evidence, not regressions
    assert main(["diff", base_path, head_path, "--fail-on", "regression", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    group = data["golden_groups"][0]
    assert group["worse"] + group["better"] >= 5 and any("crossed its bound" in e for e in group["evidence"])
    assert data["regressions"] == [] and data["family_size"] >= 2

    with LoopbackServer() as server:
        monkeypatch.setenv("TRUST_SEED", "1")
        base_path, head_path = _golden_runs(pytester, server, monkeypatch, {"TRUST_BROKEN": "25"})
    capsys.readouterr()
    assert main(["diff", base_path, head_path, "--fail-on", "regression", "--format", "text"]) == 1
    out = capsys.readouterr().out
    assert "golden set: more cases fail: test_golden_app.py::test_golden over cases.jsonl" in out
    assert "exact McNemar" in out and "95% CI" in out
    assert "passed → failed: test_golden_app.py::test_golden[" not in out  # cases are evidence of the group


def test_correction_option_of_the_plugin(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_x="def test_ok():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--llmops-report=r.json")
    assert result.ret == 0
    base = pytester.path / "r.json"
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmops-baseline={base}", "--llmops-correction=holm")
    assert "family-wise error rate (Holm) controlled at 0.05" in result.stdout.str()
    result = pytester.runpytest("-p", "no:cacheprovider", f"--llmops-baseline={base}", "--llmops-correction=bad")
    assert result.ret != 0 and "--llmops-correction" in result.stderr.str() + result.stdout.str()
