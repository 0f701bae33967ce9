"""Trace import from plain JSONL logs (field mapping) and from the project's own run records; appending to
JSON and YAML golden files keeps every existing byte (issue 19, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import by_nodeid
from inner_runs import configure, model_requests, run

from pytest_llmops.assets.goldens import load_golden_set
from pytest_llmops.assets.goldens.append import append_cases
from pytest_llmops.assets.traces.model import ModelCall, Trace
from pytest_llmops.assets.traces.select import merge_near_duplicates, sample
from pytest_llmops.cli import main
from pytest_llmops.errors import GoldenError
from pytest_llmops.testing.loopback import LoopbackServer

LOG = [
    {"request_id": "r1", "ts": "2026-11-30T10:00:00Z",
     "request": {"question": "Where is order 1234? Mail bob@example.org"},
     "response": {"text": "It ships tomorrow."}, "rating": "down", "labels": ["orders"], "model": "gpt-4o-mini"},
    {"request_id": "r2", "ts": "2026-11-30T11:00:00Z",
     "request": {"question": "where is order 1234?  mail bob@example.org"},
     "response": {"text": "Tomorrow."}, "rating": "down", "labels": ["orders"], "model": "gpt-4o-mini"},
    {"request_id": "r3", "ts": "2026-11-30T12:00:00Z", "request": {"question": "Can I pay by invoice?"},
     "response": {"text": "Yes."}, "rating": "up", "labels": ["billing"], "model": "gpt-4o-mini"},
    {"request_id": "r4", "ts": "2026-12-01T09:00:00Z", "request": {"question": "Cancel my plan"},
     "response": {"text": "Done."}, "rating": "down", "labels": ["billing"], "model": "gpt-4o-mini"},
]
MAP = ["--map", "input=request.question", "--map", "output=response.text", "--map", "id=request_id",
       "--map", "time=ts", "--map", "feedback=rating", "--map", "tags=labels"]

YAML_GOLDENS = """\
# support golden set -- reviewed by the support team
cases:
  - id: hello   # the smoke case
    input: hello
    expected: hi

  # keep the next one: it caught a regression once
  - id: refund
    input: What is the refund window?
# end of cases
"""
JSON_GOLDENS = (
    '{\n    "cases": [\n        {\n            "id": "hello",\n            "input": "hello"\n        }\n    ]\n}\n'
)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def write_log(path: Path) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in LOG), encoding="utf-8")
    return path


def test_jsonl_log_with_mapping_filters_and_appends_to_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "app.log.jsonl")
    goldens = tmp_path / "goldens.yaml"
    goldens.write_text(YAML_GOLDENS, encoding="utf-8")
    status, out = cli(capsys, "goldens", "import", str(log), "-o", str(goldens), *MAP, "--feedback", "down",
                      "--since", "2026-11-30", "--until", "2026-12-01")
    assert status == 0, out
    assert "read 4 conversation(s); 1 selected, 1 added" in out and "2 filtered out" in out
    assert "1 merged as near-duplicates" in out and "replaced: email 1" in out
    text = goldens.read_text(encoding="utf-8")
    assert text.startswith(YAML_GOLDENS.replace("# end of cases\n", ""))  # comments and layout kept
    assert text.endswith("# end of cases\n")
    cases = load_golden_set(goldens).cases
    assert [c.id for c in cases][:2] == ["hello", "refund"]
    case = cases[2]
    assert case.input == "Where is order 1234? Mail [email]" and case.expected == "It ships tomorrow."
    prov = case.metadata["production"]
    assert prov["source"] == "jsonl" and prov["trace_id"] == "r1" and prov["line"] == 1
    assert prov["time"] == "2026-11-30T10:00:00Z" and prov["merged"] == [{"trace_id": "r2",
                                                                          "time": "2026-11-30T11:00:00Z"}]
    assert case.tags == ["production", "orders", "feedback:down"]
    assert yaml.safe_load(text)["cases"][2]["metadata"]["production"]["model"] == "openai/gpt-4o-mini"


def test_appending_to_json_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = write_log(tmp_path / "app.log.jsonl")
    goldens = tmp_path / "goldens.json"
    goldens.write_text(JSON_GOLDENS, encoding="utf-8")
    status, out = cli(capsys, "goldens", "import", str(log), "-o", str(goldens), *MAP, "--tag", "billing")
    assert status == 0, out
    text = goldens.read_text(encoding="utf-8")
    assert text.startswith(JSON_GOLDENS[: JSON_GOLDENS.index("        }") + len("        }")] + ",\n        {\n")
    assert [c["id"] for c in json.loads(text)["cases"]][0] == "hello" and len(load_golden_set(goldens).cases) == 3
    status, out = cli(capsys, "goldens", "import", str(log), "-o", str(tmp_path / "g.csv"), *MAP)
    assert status == 2 and "use a .jsonl, .json or .yaml golden file" in out
    status, out = cli(capsys, "goldens", "import", str(log), "-o", str(goldens), "--map", "input=nowhere")
    assert status == 2 and "no input at 'nowhere'" in out
    status, out = cli(capsys, "goldens", "import", str(log), "-o", str(goldens), "--map", "colour=x")
    assert status == 2 and "write FIELD=PATH" in out
    with pytest.raises(GoldenError, match="flow-style"):
        flow = tmp_path / "flow.yaml"
        flow.write_text("cases: [{id: a, input: x}]\n")
        append_cases(flow, [{"id": "b", "input": "y"}])


def _trace(trace_id: str, text: str) -> Trace:
    call = ModelCall(model="m", provider="openai", messages=[{"role": "user", "content": text}])
    return Trace(trace_id=trace_id, calls=[call], source="jsonl", origin="x")


def test_near_duplicates_and_sampling() -> None:
    traces = [_trace("a", "How do I reset my password?"), _trace("b", "how do i reset my password"),
              _trace("c", "How can I reset the password of my account?"), _trace("d", "Opening hours?")]
    kept = merge_near_duplicates(traces, 0.9)
    assert [t.trace_id for t in kept] == ["a", "c", "d"] and kept[0].merged[0]["trace_id"] == "b"
    assert [t.trace_id for t in merge_near_duplicates(traces, 0.5)] == ["a", "d"]
    assert sample(traces, 2, seed=3) == sample(traces, 2, seed=3) and len(sample(traces, 2, seed=3)) == 2
    assert sample(traces, None) == traces


SUITE = """
import pytest

QUESTIONS = ["What is the refund window?", "Do you ship to Canada?"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_support(llm, question):
    reply = llm.complete([{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
                         temperature=0)
    assert "Canada" not in reply.text, "the shipping answer is wrong"
"""

PINNED = """
import pytest


@pytest.mark.golden("goldens/pinned.jsonl")
def test_pinned(golden_case, llm):
    reply = llm.complete([{"role": "system", "content": "Be brief."}, {"role": "user", "content": golden_case.input}],
                         temperature=0)
    assert reply.text == golden_case.expected
"""


def test_failing_case_of_a_live_run_becomes_a_pinned_case(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("litellm")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-import")
    pytester.makepyfile(test_live=SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        result, _ = run(pytester, "--llmops-record-mode=once")
        result.assert_outcomes(passed=1, failed=1)
        record = pytester.path / "live.json"
        (pytester.path / "r.json").replace(record)
        (pytester.path / "goldens").mkdir()
        status, out = cli(capsys, "goldens", "import", str(record), "-o", "goldens/pinned.jsonl",
                          "--recordings-for", "test_pinned.py::test_pinned")
        assert status == 0 and "1 selected, 1 added" in out, out
        [case] = load_golden_set(pytester.path / "goldens" / "pinned.jsonl").cases
        assert case.input == "Do you ship to Canada?" and "Canada" in str(case.expected)
        prov = case.metadata["production"]
        assert prov["source"] == "run-record" and prov["outcome"] == "failed"
        assert prov["nodeid"] == "test_live.py::test_support[Do you ship to Canada?]"
        assert prov["model"] == "openai/loopback-model" and "shipping answer is wrong" in prov["message"]
        pytester.makepyfile(test_pinned=PINNED)
        requests_before = len(model_requests(server))
        result, replay = run(pytester, "--llmops-record-mode=none", "test_pinned.py")
        assert result.ret == 0, result.stdout.str()[-3000:]
        assert len(model_requests(server)) == requests_before  # zero requests: the recording answered
    [test] = by_nodeid(replay).values()
    assert test["outcome"] == "passed" and [c["cached"] for c in test["calls"]] == [True]
