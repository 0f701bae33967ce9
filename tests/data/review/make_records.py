"""Regenerate base.json / head.json of this folder: PYTHONPATH=. python tests/data/review/make_records.py

A small PR-like change: one test breaks, one errors (provider outage), a sampled test drops significantly and
another only by noise, a golden set gets worse on 5 of 8 cases, its prompt is edited without a version bump,
cost and tokens grow, a test is renamed (removed + added).  Messages contain markdown and HTML specials.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_llmops.record.models import RunRecord
from pytest_llmops.review import synthetic as s

HERE = Path(__file__).parent
GOLDEN = "goldens/support.jsonl"


def build(head: bool) -> dict:
    tests = [
        s.test("tests/test_chat.py::test_greeting", metrics=[
            s.metric("similarity", 0.72 if head else 0.91, min=0.8,
                     details={"reference": "Hello! How can I help?", "score": 0.72 if head else 0.91})],
            calls=[s.call(cost=0.0021, tokens=420, latency=0.8, cached=True)],
            artifacts={"output": "Hello | how can I <help>?" if head else "Hello! How can I help?"}),
        s.test("tests/test_chat.py::test_refund_policy", "failed" if head else "passed",
               message="AssertionError: answer mentions `30 days` | expected *14* days" if head else None,
               calls=[s.call(cost=0.003, tokens=600, latency=1.2, cached=True)]),
        s.test("tests/test_chat.py::test_escalation", "error" if head else "passed",
               **({"error_kind": "provider", "message": "ProviderError: 503 Service Unavailable after 3 retries"}
                  if head else {})),
        s.test("tests/test_chat.py::test_tone",
               sampling=s.sampling(*((11, 9) if head else (19, 1)), interval=(0.34, 0.74) if head else (0.76, 0.99)),
               calls=[s.call(cost=0.0005, tokens=100, latency=0.5, cached=True) for _ in range(3)]),
        s.test("tests/test_chat.py::test_brevity",
               sampling=s.sampling(*((16, 4) if head else (17, 3)), interval=(0.58, 0.92) if head else (0.64, 0.95))),
        s.test("tests/test_chat.py::test_new_feature" if head else "tests/test_chat.py::test_legacy"),
        s.test("tests/test_chat.py::test_known_bug", "failed", message="still broken"),
    ]
    prompt = {"name": "support_answer", "version": "v2", "hash": ("b" if head else "a") * 40}
    for i in range(8):
        case = f"reset-password-{i}"
        bad = head and i < 5
        tests.append(s.test(
            f"tests/test_rag.py::test_answer[{case}-support_answer@v2]", "failed" if bad else "passed",
            golden=s.golden(GOLDEN, case, "g-1"), message="recall@5 0.2 < 0.5" if bad else None, prompts=[prompt],
            metrics=[s.metric("recall@5", (0.2 if bad else 0.8) + i * 0.01, min=0.5,
                              details={"retrieved": [f"kb-{i}", "kb-99"]}),
                     s.metric("faithfulness", 0.6 if bad else 0.9,
                              details={"reasoning": "invents a policy" if bad else "cites the article"})],
            calls=[s.call(cost=0.003 if head else 0.002, tokens=750 if head else 500, latency=0.9 + i * 0.1,
                          cached=True)],
            artifacts={"messages": [{"role": "user", "content": f"question {i}"}], "output": f"answer {i}"}))
    prompts = [prompt] + ([{"name": "support_answer", "version": "v3", "hash": "c" * 40}] if head else [])
    run = s.run_info(commit=("2" if head else "1") * 40, branch="feature/refunds" if head else "main",
                     started_at=f"2026-03-0{2 if head else 1}T10:00:00.000+00:00")
    data = s.record(tests, run=run, prompts=prompts,
                    golden_sets=[{"path": GOLDEN, "hash": "g-1", "cases": 8, "format": "jsonl"}])
    return RunRecord.model_validate(data).model_dump(mode="json")


if __name__ == "__main__":
    for head in (False, True):
        path = HERE / ("head.json" if head else "base.json")
        path.write_text(json.dumps(build(head), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}")
