"""The example suite's agent replays offline: trajectories, conversations and the simulated user from the
committed SmolLM2 recordings, with zero live calls; agent prompt v2 shows as a tool-choice regression."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_report

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing listens here: any call that escaped replay would fail instead of silently going live
    monkeypatch.setenv("SUPPORT_BOT_API_BASE", "http://127.0.0.1:9/v1")
    for name in ("OPENAI_API_KEY", "SUPPORT_BOT_API_KEY", "LUMEN_AGENT_PROMPT_VERSION"):
        monkeypatch.delenv(name, raising=False)


def _mean(report: dict, metric: str, function: str = "test_agent_trajectory") -> float:
    values = [m["value"] for t in report["tests"] if t["function"] == function
              for m in t["metrics"] if m["name"] == metric]
    return sum(values) / len(values)


def test_agent_suite_replays_offline(pytester: pytest.Pytester, offline: None) -> None:
    result = pytester.runpytest_subprocess(
        str(ROOT / "example_suite" / "test_agent.py"), "--rootdir", str(ROOT), "-p", "no:cacheprovider",
        "--llmops-record-mode=none", "--llmops-report=agent.json",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    report = load_report(pytester.path / "agent.json")
    totals = report["totals"]
    assert totals["calls"] > 0 and totals["live_calls"] == 0
    tests = report["tests"]
    trajectories = [t for t in tests if t["function"] == "test_agent_trajectory"]
    conversations = [t for t in tests if t["function"] == "test_conversation"]
    assert len(trajectories) >= 20 and len(conversations) >= 10
    assert sum(bool(t["trajectory"]) for t in trajectories) >= 15  # steps derived from the recorded calls
    for test in trajectories:
        for step in test["trajectory"] or []:
            assert step["tool"] in ("search_help_center", "open_article", "create_ticket")
            assert isinstance(step["arguments"], dict) and step["result"] and step["call"] is not None
    for test in conversations:
        run = test["conversation"]["runs"][0]
        assert len(run["turns"]) >= 3 and all(turn["output"] for turn in run["turns"])
        assert {c["turn"] for c in test["calls"]} == set(range(len(run["turns"])))
    simulated = next(t for t in tests if t["function"] == "test_simulated_user")
    assert simulated["sampling"]["pass_k"]["n"] == simulated["sampling"]["n_run"]
    assert {r["kind"] for r in simulated["conversation"]["runs"]} == {"simulated"}
    assert {a["metric"] for a in report["aggregates"]} >= {"tool_call_recall", "first_tool_right",
                                                           "conversation_turns_passed"}


def test_agent_prompt_v2_is_a_tool_choice_regression(tmp_path: Path, offline: None) -> None:
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, str(ROOT / "example_suite" / "agent_review_demo.py"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    base = json.loads((out / "base.json").read_text())
    head = json.loads((out / "head.json").read_text())
    assert base["totals"]["live_calls"] == head["totals"]["live_calls"] == 0
    assert _mean(head, "first_tool_right") < _mean(base, "first_tool_right")
    assert _mean(head, "tool_call_recall") < _mean(base, "tool_call_recall")
    assert all(a["passed"] for a in base["aggregates"])
    assert not all(a["passed"] for a in head["aggregates"])
    assert "first_tool_right" in (out / "comment.md").read_text() and (out / "report.html").is_file()
