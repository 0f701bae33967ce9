"""compare_at_session_end with a stand-in for the plugin's session state (real runs: test_review_real.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmops.errors import ConfigError
from pytest_llmops.plugin.review import compare_at_session_end
from pytest_llmops.review import synthetic as syn


class State:
    def __init__(self, baseline: Path | None, fail_on: str | None) -> None:
        self.baseline_path = baseline
        self._options = {"fail_on": fail_on, "correction": "fdr"}
        self.final_lines: list[str] = []

    def option(self, dest: str) -> Any:
        return self._options[dest]


def _base(tmp_path: Path) -> Path:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(syn.record([syn.test("t.py::a"), syn.test("t.py::b")])), encoding="utf-8")
    return path


def test_regression_fails_by_default_and_is_summarized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    state = State(_base(tmp_path), None)
    head = syn.record([syn.test("t.py::a", "failed", message="boom"), syn.test("t.py::b", "error")])
    assert compare_at_session_end(state, head) is True
    assert state.final_lines[0] == "llmops baseline base.json: ❌ 1 regression"
    assert state.final_lines[1] == "  passed → failed: t.py::a (passed → failed) boom"
    assert "1 test(s) errored" in state.final_lines[2]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n<!-- pytest-llmops-diff -->\n## ❌ 1 regression")


def test_fail_on_none_and_metric_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    head = syn.record([syn.test("t.py::a", "failed"), syn.test("t.py::b")])
    assert compare_at_session_end(State(_base(tmp_path), "none"), head) is False
    assert compare_at_session_end(State(_base(tmp_path), "metric:acc:0.1"), head) is False
    with pytest.raises(ConfigError, match="unknown rule"):
        compare_at_session_end(State(_base(tmp_path), "sometimes"), head)


def test_step_summary_without_baseline_summarizes_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    state = State(None, None)
    assert compare_at_session_end(state, syn.record([syn.test("t.py::a", "failed", message="nope")])) is False
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("<!-- pytest-llmops-run -->") and "| `t.py::a` | nope |" in text
    assert state.final_lines == []
