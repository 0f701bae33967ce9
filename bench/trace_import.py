"""Trace import: conversations per second, and how well near-duplicates are merged.

Writes N synthetic production conversations as OpenTelemetry GenAI spans (the SDK's ``span.to_json()`` lines,
attributes as ``opentelemetry-instrumentation-openai-v2`` writes them), a share of them re-asked with other
case, punctuation and spacing, each with an email address to redact; then runs the import with recordings.

    PYTHONPATH=. /work/venv/bin/python bench/trace_import.py [--conversations 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit_result  # noqa: E402

from pytest_llmops.production.importer import ImportOptions, import_traces  # noqa: E402

TOPICS = ["order", "invoice", "password", "refund", "shipping", "discount", "account", "delivery", "plan", "data"]
VERBS = ["track", "change", "reset", "cancel", "export", "update", "find", "pay", "return", "close"]


def _span(trace: int, index: int, question: str, answer: str) -> dict:
    parts = lambda role, text: {"role": role, "parts": [{"type": "text", "content": text}]}  # noqa: E731
    return {
        "name": "chat gpt-4o-mini", "context": {"trace_id": f"0x{trace:032x}", "span_id": f"0x{index + 1:016x}"},
        "parent_id": None, "start_time": f"2026-11-30T10:00:{index % 60:02d}.{trace % 1000000:06d}Z",
        "end_time": "2026-11-30T10:01:00Z",
        "attributes": {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai",
            "gen_ai.request.temperature": 0, "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 10,
            "gen_ai.input.messages": json.dumps([parts("system", "Be brief."), parts("user", question)]),
            "gen_ai.output.messages": json.dumps([parts("assistant", answer)]),
            "user.feedback": "thumbs_down" if trace % 3 == 0 else "thumbs_up",
        },
        "events": [], "resource": {"attributes": {"service.name": "support"}},
    }


def write_spans(path: Path, n: int, duplicate_share: float, rng: random.Random) -> int:
    lines, duplicates = [], 0
    originals: list[str] = []
    for trace in range(1, n + 1):
        if originals and rng.random() < duplicate_share:
            base = rng.choice(originals)
            question = base.lower().replace("?", "").replace(" ", "  ", 1)
            duplicates += 1
        else:
            question = (f"How do I {rng.choice(VERBS)} my {rng.choice(TOPICS)} number {trace}? "
                        f"Reach me at user{trace}@example.com")
            originals.append(question)
        lines.append(json.dumps(_span(trace, trace, question, f"Answer to {question}")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return duplicates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--duplicates", type=float, default=0.2)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        planted = write_spans(root / "spans.jsonl", args.conversations, args.duplicates, rng)
        started = time.perf_counter()
        cases_only = import_traces([root / "spans.jsonl"], root / "goldens" / "cases_only.jsonl", ImportOptions())
        cases_s = time.perf_counter() - started
        options = ImportOptions(recordings_for="tests/test_prod.py::test_replay", rootdir=root)
        started = time.perf_counter()
        report = import_traces([root / "spans.jsonl"], root / "goldens" / "prod.jsonl", options)
        full_s = time.perf_counter() - started
        written = len(list((root / "tests" / "recordings").rglob("*.json")))
    n = args.conversations
    print(f"{n} conversations ({planted} planted near-duplicates): {len(cases_only.added)} cases in {cases_s:.2f}s; "
          f"with {written} recordings {full_s:.2f}s (each recording is written atomically with an fsync); "
          f"{report.merged} merged, redacted {dict(report.redacted)}")
    emit_result("trace_import", "conversations imported per second, cases only (redaction, dedup, append)",
                round(n / cases_s, 1), unit="/s", goal="", met=None)
    emit_result("trace_import", "conversations imported per second with one recording per case",
                round(n / full_s, 1), unit="/s", goal="", met=None)
    emit_result("trace_import", "planted near-duplicates merged", f"{report.merged}/{planted}",
                goal="all", met=report.merged == planted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
