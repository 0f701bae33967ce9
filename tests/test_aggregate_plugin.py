"""Run-level aggregate checks over a golden set: mean recall@k fails the run with the figures."""

from __future__ import annotations

import json

import pytest
from conftest import load_report

CASES = [
    {"id": "c1", "input": "q1", "relevant_ids": ["kb-1"]},
    {"id": "c2", "input": "q2", "relevant_ids": ["kb-2"]},
    {"id": "c3", "input": "q3", "relevant_ids": ["kb-3", "kb-9"]},
    {"id": "c4", "input": "q4", "relevant_ids": ["kb-4"]},
]

TEST = """
import pytest
from pytest_llmops import assert_retrieval

RETRIEVED = {{"c1": ["kb-1", "kb-7"], "c2": ["kb-5", "kb-2"], "c3": ["kb-3", "kb-6"], "c4": ["kb-8", "kb-6"]}}

@pytest.mark.golden("goldens.jsonl")
@pytest.mark.aggregate("recall@5", min={threshold})
def test_retrieval(golden_case):
    assert_retrieval(RETRIEVED[golden_case.id], golden_case.relevant_ids, k=5)
"""


@pytest.mark.parametrize("threshold, expect_ret", [(0.5, 0), (0.8, 1)])
def test_aggregate_threshold(pytester: pytest.Pytester, threshold: float, expect_ret: int) -> None:
    (pytester.path / "goldens.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES))
    pytester.makepyfile(test_rag=TEST.format(threshold=threshold))
    result = pytester.runpytest("--llmops-report=r.json")
    assert result.ret == expect_ret
    report = load_report(pytester.path / "r.json")
    (aggregate,) = report["aggregates"]
    # per-case recall@5: 1, 1, 0.5, 0 -> mean 0.625
    assert aggregate["value"] == pytest.approx(0.625)
    assert aggregate["count"] == 4 and len(aggregate["values"]) == 4
    assert aggregate["passed"] is (expect_ret == 0)
    status = "ok" if expect_ret == 0 else "FAILED"
    result.stdout.fnmatch_lines([f"{status}: mean recall@5 over test_rag.py::test_retrieval = 0.6250 (need >= {threshold:g}; 4 items)*"])
    tests = {t["nodeid"]: t for t in report["tests"]}
    ndcg = [m for m in tests["test_rag.py::test_retrieval[c2]"]["metrics"] if m["name"] == "ndcg@5"][0]
    assert ndcg["value"] == pytest.approx(1 / 1.5849625, rel=1e-6)
