"""Issue 18: ``--llmops-affected=BASE_RECORD`` runs only what a change can affect and carries the rest over."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import by_nodeid, load_report

from pytest_llmops.testing.loopback import LoopbackServer

PROMPT = """
name: {name}
versions:
  v1:
    model: openai/loopback-model
    params: {{temperature: 0}}
    messages:
      - {{role: user, content: "{text} {{{{ question }}}}"}}
"""

SUITE = """
import pytest

@pytest.mark.golden("goldens/q.jsonl")
@pytest.mark.prompt("alpha")
def test_alpha(golden_case, prompt, llm):
    assert llm.complete(prompt.render(question=golden_case.input)).text

@pytest.mark.prompt("beta")
def test_beta(prompt, llm):
    assert llm.complete(prompt.render(question="hi")).text

def test_body_uses_beta(prompts, llm):
    assert llm.complete(prompts.get("beta").render(question="direct")).text

def test_plain():
    pass
"""

CASES = [{"id": "one", "input": "first question"}, {"id": "two", "input": "second question"}]


def _write(pytester: pytest.Pytester, *, beta: str = "Beta says", cases: list[dict[str, str]] = CASES) -> None:
    (pytester.path / "prompts").mkdir(exist_ok=True)
    (pytester.path / "prompts" / "alpha.yaml").write_text(PROMPT.format(name="alpha", text="Alpha says"))
    (pytester.path / "prompts" / "beta.yaml").write_text(PROMPT.format(name="beta", text=beta))
    (pytester.path / "goldens").mkdir(exist_ok=True)
    (pytester.path / "goldens" / "q.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))


def _ran(report: dict) -> set[str]:
    return {t["nodeid"].split("::")[1] for t in report["tests"]
            if not (t.get("recordings") or {}).get("affected", {}).get("carried_over")}


def test_affected_selects_changed_prompts_cases_and_new_tests(pytester: pytest.Pytester,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    _write(pytester)
    pytester.makepyfile(test_suite=SUITE)
    with LoopbackServer() as server:
        pytester.makeini(f"[pytest]\nllmops_api_base = {server.base_url}\n"
                         "llmops_prices =\n    openai/loopback-model = 1 2\n")
        base = pytester.runpytest_subprocess("--llmops-record-mode=once", "--llmops-report=base.json")
        base.assert_outcomes(passed=5)

        # nothing changed: everything is skipped with the reason, and carried over from the base record
        same = pytester.runpytest_subprocess("--llmops-affected=base.json", "--llmops-report=same.json", "-rs")
        same.assert_outcomes(skipped=5)
        assert "llmops-affected: unaffected by this change" in same.stdout.str()
        carried = by_nodeid(load_report(pytester.path / "same.json"))
        assert {t["outcome"] for t in carried.values()} == {"passed"} and _ran(load_report(
            pytester.path / "same.json")) == set()
        assert all(any("carried over from" in n for n in t["notes"]) for t in carried.values())
        diff = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "diff", "base.json", "same.json"],
                              cwd=pytester.path, capture_output=True, text=True)
        assert "no regressions" in diff.stdout and "changed" not in diff.stdout.lower().split("metric means")[0], \
            diff.stdout

        # beta edited without a version bump: its marker test and the test calling it in its body re-run
        _write(pytester, beta="Beta now says")
        edited = pytester.runpytest_subprocess("--llmops-affected=base.json", "--llmops-record-mode=new_episodes",
                                    "--llmops-report=edited.json")
        edited.assert_outcomes(passed=2, skipped=3)
        assert _ran(load_report(pytester.path / "edited.json")) == {"test_beta[beta@v1]", "test_body_uses_beta"} \
            or _ran(load_report(pytester.path / "edited.json")) == {"test_beta", "test_body_uses_beta"}

        # one golden case edited and a test added: that case's item and the new test run
        _write(pytester, cases=[CASES[0], {"id": "two", "input": "second question, reworded"}])
        pytester.makepyfile(test_new="def test_new():\n    pass\n")
        changed = pytester.runpytest_subprocess("--llmops-affected=base.json", "--llmops-record-mode=new_episodes",
                                     "--llmops-report=changed.json")
    ran = _ran(load_report(pytester.path / "changed.json"))
    assert {"test_alpha[two]", "test_new"} <= ran and "test_alpha[one]" not in ran and "test_plain" not in ran
    changed.assert_outcomes(passed=len(ran), skipped=6 - len(ran))


def test_affected_needs_an_existing_base(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("--llmops-affected=missing.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR or "does not exist" in result.stderr.str() + result.stdout.str()
