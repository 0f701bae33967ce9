"""Issue 18: ``pytest-llmops init`` scaffolds a project whose own test run works: replay errors naming the exact
record command until the first recording, records against the loopback server, then replays offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import by_nodeid, load_report

from pytest_llmops.cli import main
from pytest_llmops.scaffold import FILES
from pytest_llmops.testing.loopback import LoopbackServer

CASES = ("opening-hours", "reset-password", "refund")


def _init(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "init", str(where), *args],
                          capture_output=True, text=True)


def test_init_writes_the_starter_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    done = _init(tmp_path / "proj", "--model", "openai/my-model")
    assert done.returncode == 0, done.stderr
    for rel in FILES:
        assert (tmp_path / "proj" / rel).is_file(), rel
        assert f"created {tmp_path / 'proj' / rel}" in done.stdout
    assert "pytest --llmops-record-mode=once" in done.stdout
    assert "model: openai/my-model" in (tmp_path / "proj" / "prompts" / "answer.yaml").read_text()
    cases = [json.loads(line) for line in (tmp_path / "proj" / "goldens" / "answer.jsonl").read_text().splitlines()]
    assert [c["id"] for c in cases] == list(CASES)
    workflow = (tmp_path / "proj" / ".github" / "workflows" / "llm-tests.yml").read_text()
    assert "pytest --llmops-report" in workflow and "pytest-llmops" in workflow
    # a second init changes nothing, even for the files that do not exist yet
    (tmp_path / "proj" / "conftest.py").write_text("# mine\n")
    (tmp_path / "proj" / "test_answer.py").unlink()
    again = _init(tmp_path / "proj")
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr and "conftest.py" in again.stderr
    assert (tmp_path / "proj" / "conftest.py").read_text() == "# mine\n"
    assert not (tmp_path / "proj" / "test_answer.py").exists()


def test_init_rejects_a_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path), "--model", "two words"]) == 2
    assert "not a litellm model string" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_scaffold_replay_errors_then_records_then_replays(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", str(pytester.path)]) == 0
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmops-report=r0.json")
    first.assert_outcomes(errors=3)
    out = first.stdout.str()
    assert "RecordingMissing" in out
    assert "Record it with: pytest 'test_answer.py::test_answer[refund]' --llmops-record-mode=once" in out
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    with LoopbackServer() as server:
        recorded = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmops-record-mode=once",
                                                 f"--llmops-api-base={server.base_url}", "--llmops-report=r1.json")
        calls = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    recorded.assert_outcomes(passed=3)
    assert len(calls) == 3 and {c["model"] for c in calls} == {"gpt-4o-mini"}  # the prompt's declared model
    assert {c["max_tokens"] for c in calls} == {120}
    monkeypatch.delenv("OPENAI_API_KEY")
    replayed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmops-report=r2.json")
    replayed.assert_outcomes(passed=3)
    tests = by_nodeid(load_report(pytester.path / "r2.json"))
    assert sorted(tests) == sorted(f"test_answer.py::test_answer[{c}]" for c in CASES)
    assert all(t["calls"][0]["cached"] or t["calls"][0].get("replayed") is not False for t in tests.values())
    assert load_report(pytester.path / "r2.json")["totals"]["replayed_calls"] == 3
