"""CI catches a broken example: run the example suite offline through the plugin and check its record."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_report

from pytest_llmops.review.shadow import shadow_verdicts

ROOT = Path(__file__).resolve().parent.parent


def test_example_suite_replays_offline(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # nothing listens here: any call that escaped replay would fail instead of silently going live
    monkeypatch.setenv("SUPPORT_BOT_API_BASE", "http://127.0.0.1:9/v1")
    for name in ("OPENAI_API_KEY", "SUPPORT_BOT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = pytester.runpytest_subprocess(
        str(ROOT / "example_suite"), "--rootdir", str(ROOT), "-p", "no:cacheprovider",
        "--llmops-record-mode=none", "--llmops-report=example.json",
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    report = load_report(pytester.path / "example.json")
    totals = report["totals"]
    assert totals["outcomes"].get("failed", 0) == 0 and totals["outcomes"].get("error", 0) == 0
    assert totals["tests"] >= 130
    assert totals["calls"] > 0 and totals["live_calls"] == 0 and totals["cost_usd"] == 0
    assert totals["replayed_cost_usd"] and totals["replayed_cost_usd"] > 0
    assert {a["metric"] for a in report["aggregates"]} >= {"recall@4", "mrr", "similarity", "cites_article"}
    assert all(a["passed"] for a in report["aggregates"])
    assert {g["path"] for g in report["golden_sets"]} == {"example_suite/goldens/support.jsonl",
                                                          "example_suite/goldens/triage.yaml",
                                                          "example_suite/goldens/agent_trajectories.jsonl",
                                                          "example_suite/goldens/conversations.yaml",
                                                          "example_suite/goldens/production.jsonl"}
    assert {(p["name"], p["version"]) for p in report["prompts"]} >= {("support_answer", "v1"), ("support_answer", "v2")}
    kinds = {m["scorer"] for t in report["tests"] for m in t["metrics"]}
    assert {"retrieval", "similarity", "judge"} <= kinds
    assert any(t.get("sampling") for t in report["tests"])
    # the app streams its answers: those calls replay as the recorded chunk streams
    answers = [c for t in report["tests"] if "test_answers.py::test_answer[" in t["nodeid"] for c in t["calls"]]
    assert answers and all(c["stream"] and c["cached"] for c in answers)
    # the production set: imported from OTel spans, replayed as production answered, and v2 shadowing it
    replays = [t for t in report["tests"] if t["function"] == "test_production_replays_offline"]
    assert len(replays) == 10 and all(t["outcome"] == "passed" for t in replays)
    assert sorted(t["golden"].get("feedback") for t in replays) == ["thumbs_down"] * 7 + ["thumbs_up"] * 3
    [verdict] = shadow_verdicts(report["tests"])
    assert verdict.scope == "example_suite/test_shadow.py::test_shadow_v2" and verdict.cases == 10
    assert verdict.similarity_mean is not None and len(verdict.negative_now_passing) == 7
