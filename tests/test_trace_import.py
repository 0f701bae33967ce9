"""Production traces become golden cases and recordings (issue 19, items 1 and 2).

The "production" side is a real openai-SDK app under ``opentelemetry-instrumentation-openai-v2`` (run as a
separate process, as production is), talking to the loopback server; the OpenTelemetry SDK writes its spans
as JSON lines (``ConsoleSpanExporter`` into a file) and as OTLP JSON.  ``pytest-llmops goldens import``
turns them into cases; a pytester project then replays the conversations offline with zero requests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import by_nodeid
from inner_runs import model_requests, run

from pytest_llmops.assets.goldens import load_golden_set
from pytest_llmops.calls.cassette import read_document
from pytest_llmops.cli import main
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("opentelemetry.instrumentation.openai_v2")
pytest.importorskip("opentelemetry.exporter.otlp.proto.common")
pytest.importorskip("litellm")

APP = Path(__file__).parent / "data" / "traces" / "production_app.py"
EXISTING = '{"id":"smoke-1","input":"hello","expected":"hi","tags":["smoke"]}\n'
PII = ("jane.doe@example.com", "415 555 2671")

REPLAY_TEST = """
import os

import openai
import pytest
from production_app import answer


@pytest.mark.golden("goldens/prod.jsonl", tags=["production"])
def test_replay(golden_case, conversation):
    client = openai.OpenAI(base_url=os.environ["SUPPORT_BASE_URL"], api_key="sk-test")
    if golden_case.turns:
        result = conversation.run(lambda message, history: answer(client, message, history))
        assert [t.output for t in result.turns] == [t["expected"] for t in golden_case.turns]
    else:
        assert answer(client, golden_case.input) == golden_case.expected
"""


def serve_production(out: Path, instrumentation: str = "openai-v2") -> dict[str, Path]:
    """Spans of four production conversations, written by a real instrumentation in another process."""
    with LoopbackServer() as server:
        done = subprocess.run(
            [sys.executable, str(APP), server.base_url, str(out / "spans.jsonl"), str(out / "otlp.json"),
             instrumentation],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert len(model_requests(server)) == 5  # 2 + 1 + 1 + 1 turns
    return {"spans": out / "spans.jsonl", "otlp": out / "otlp.json"}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return serve_production(tmp_path_factory.mktemp("production"))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def span_trace_ids(path: Path) -> dict[str, str]:
    """trace id -> the user feedback of the conversation span, from the span file itself."""
    spans = [json.loads(line) for line in path.read_text().splitlines()]
    return {s["context"]["trace_id"][2:]: s["attributes"]["user.feedback"]
            for s in spans if s["name"] == "conversation"}


def test_import_otel_spans_validate_redact_keep_provenance_and_replay_offline(
    pytester: pytest.Pytester, production: dict[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copy(APP, pytester.path / "production_app.py")
    goldens = pytester.path / "goldens" / "prod.jsonl"
    goldens.parent.mkdir()
    goldens.write_text(EXISTING, encoding="utf-8")
    pytester.makepyfile(test_prod=REPLAY_TEST)

    status, out = cli(capsys, "goldens", "import", str(production["spans"]), "-o", str(goldens),
                      "--feedback", "thumbs_down", "--recordings-for", "test_prod.py::test_replay")
    assert status == 0, out
    assert "read 4 conversation(s); 2 selected, 2 added" in out and "1 filtered out" in out
    assert "1 merged as near-duplicates" in out and "PII redaction: on" in out and "email 4, phone 2" in out

    text = goldens.read_text(encoding="utf-8")
    assert text.startswith(EXISTING)  # the existing case kept byte for byte, the new ones appended in its style
    assert all(line.startswith('{"id":"prod-') for line in text.splitlines()[1:])
    golden = load_golden_set(goldens)  # validates
    assert [c.id for c in golden.cases][0] == "smoke-1" and len(golden.cases) == 3
    imported = golden.select(tags=["production"])
    multi = next(c for c in imported if c.turns)
    single = next(c for c in imported if not c.turns)
    assert multi.input == "My card was charged twice, email me at [email]"
    assert multi.turns[1]["user"] == "Call me on [phone] instead" and multi.turns[1]["expected"].endswith("instead")
    assert single.input == "How do I reset my password?" and single.expected.startswith("loopback answer")
    assert "feedback:thumbs_down" in multi.tags and "billing" in multi.tags

    trace_feedback = span_trace_ids(production["spans"])
    prov = multi.metadata["production"]
    assert trace_feedback[prov["trace_id"]] == "thumbs_down" and prov["source"] == "otel"
    assert prov["model"] == "openai/gpt-4o-mini" and prov["response_model"] == "loopback-model"
    assert prov["prompt"] == {"name": "support", "version": "v1"} and prov["feedback"] == "thumbs_down"
    assert len(prov["span_ids"]) == 2 and prov["calls"] == 2 and prov["time"].endswith("Z")
    assert prov["redacted"] == {"email": 4, "phone": 2}
    merged = single.metadata["production"]["merged"]
    assert len(merged) == 1 and trace_feedback[merged[0]["trace_id"]] == "thumbs_down"

    recordings = sorted((pytester.path / "recordings" / "test_prod").iterdir())
    assert [p.name for p in recordings] == sorted(f"test_replay[{c.id}].json" for c in imported)
    for path in recordings:
        doc = read_document(path)
        assert doc["test"].startswith("test_prod.py::test_replay[prod-")
        assert all(e["request"]["model"] == "openai/gpt-4o-mini" for e in doc["entries"])
    everything = text + "".join(p.read_text(encoding="utf-8") for p in recordings)
    assert not any(secret in everything for secret in (*PII, "sk-production-key"))

    # the same spans exported as OTLP JSON (base64 ids) give the same cases: nothing new to add
    status, out = cli(capsys, "goldens", "import", str(production["otlp"]), "-o", str(goldens),
                      "--feedback", "thumbs_down")
    assert status == 0 and "2 selected, 0 added" in out and "2 already there" in out, out
    assert goldens.read_text(encoding="utf-8") == text

    # replay: the conversations come back from the recordings, with zero requests to any server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with LoopbackServer() as server:
        monkeypatch.setenv("SUPPORT_BASE_URL", server.base_url)
        result, record = run(pytester, "--llmops-record-mode=none")
        assert result.ret == 0, result.stdout.str()[-3000:]
        assert model_requests(server) == []
    tests = by_nodeid(record)
    assert sorted(tests) == sorted(f"test_prod.py::test_replay[{c.id}]" for c in imported)
    calls = [c for t in tests.values() for c in t["calls"]]
    assert len(calls) == 3 and all(c["cached"] for c in calls)


def test_dry_run_and_filters_on_otel_spans(production: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "prod.jsonl"
    status, out = cli(capsys, "goldens", "import", str(production["spans"]), "-o", str(out_file), "--dry-run",
                      "--tag", "account", "--no-dedup", "--no-redact")
    assert status == 0 and not out_file.exists()
    cases = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [c["input"] for c in cases] == ["How do I reset my password?", "how do I reset my password"]
    assert "PII redaction: OFF" in out
    status, out = cli(capsys, "goldens", "import", str(production["spans"]), "-o", str(out_file), "--dry-run",
                      "--since", "2999-01-01")
    assert "4 filtered out" in out
    picks = []
    for _ in range(2):
        status, out = cli(capsys, "goldens", "import", str(production["otlp"]), "-o", str(out_file), "--dry-run",
                          "--sample", "2", "--seed", "7")
        picks.append([json.loads(line)["id"] for line in out.splitlines() if line.startswith("{")])
    assert picks[0] == picks[1] and len(picks[0]) == 2  # a seeded sample is reproducible


def test_content_missing_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    span = {"name": "chat gpt-4o-mini", "context": {"trace_id": "0x" + "1" * 32, "span_id": "0x" + "2" * 16},
            "parent_id": None, "start_time": "2026-12-01T08:00:00Z", "end_time": "2026-12-01T08:00:01Z",
            "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"}}
    source = tmp_path / "spans.jsonl"
    source.write_text(json.dumps(span) + "\n")
    status, out = cli(capsys, "goldens", "import", str(source), "-o", str(tmp_path / "g.jsonl"))
    assert status == 0 and "had model spans without message content" in out and "SPAN_ONLY" in out
    assert not (tmp_path / "g.jsonl").exists()


def test_openinference_spans_give_the_same_cases_and_replay_keys(
    production: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openinference.instrumentation.openai")
    other = serve_production(tmp_path, "openinference")
    monkeypatch.chdir(tmp_path)
    imported = {}
    for name, spans in (("v2", production["spans"]), ("oi", other["spans"])):
        status, out = cli(capsys, "goldens", "import", str(spans), "-o", f"{name}.jsonl", "--feedback", "thumbs_down",
                          "--recordings-for", f"test_{name}.py::test_replay")
        assert status == 0 and "2 added" in out, out
        cases = load_golden_set(tmp_path / f"{name}.jsonl").cases
        keys = {c.input: [e["key"] for e in read_document(
            tmp_path / "recordings" / f"test_{name}" / f"test_replay[{c.id}].json")["entries"]] for c in cases}
        imported[name] = ([(c.input, c.expected, c.turns, c.metadata["production"]["model"]) for c in cases], keys)
    assert imported["oi"] == imported["v2"]  # same conversations, same replay keys from both instrumentations
