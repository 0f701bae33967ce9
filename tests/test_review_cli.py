"""``pytest-llmops diff | merge | html | show``: exit codes, formats, bad input; and merge()."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from pytest_llmops.record.io import load_record
from pytest_llmops.record.models import RunRecord

from pytest_llmops.errors import ReportError
from pytest_llmops.review import synthetic as syn
from pytest_llmops.review.cli import cmd_diff, main, register
from pytest_llmops.review.merge import merge

DATA = Path(__file__).parent / "data" / "review"
BASE, HEAD = str(DATA / "base.json"), str(DATA / "head.json")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_diff_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    assert cmd_diff(_args("diff", BASE, HEAD, "-o", str(out))) == 0  # default --fail-on none: report only
    assert out.read_text(encoding="utf-8").splitlines()[1] == "## ❌ 8 regressions"
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "regression", "-o", str(out))) == 1
    assert "fail-on regression: 8 regression(s)" in capsys.readouterr().err
    assert cmd_diff(_args("diff", BASE, BASE, "--fail-on", "regression", "-o", str(out))) == 0
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "metric:recall@5:0.5", "-o", str(out))) == 0
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "metric:recall@5:0.3", "-o", str(out))) == 1
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "latency:10%", "-o", str(out))) == 0
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "cost:40%", "--no-per-test-cost", "-o", str(out))) == 0
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "cost:30%", "--no-per-test-cost", "-o", str(out))) == 1
    capsys.readouterr()
    assert cmd_diff(_args("diff", BASE, HEAD, "--fail-on", "speed:10%")) == 2
    assert "unknown rule 'speed:10%'" in capsys.readouterr().err


def test_diff_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["diff", BASE, HEAD, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] is True and len(data["regressions"]) == 8
    assert data["errors"][0]["nodeid"] == "tests/test_chat.py::test_escalation"
    assert main(["diff", BASE, HEAD, "--format", "text", "--prompt-edits", "info", "--alpha", "0.01"]) == 0
    text = capsys.readouterr().out
    # no prompt-edit, and McNemar / signed-rank p = 0.031 > 0.01: 11 - 1 - 3 (issue 13: golden metrics are in the
    # FDR family rather than Holm-corrected per group, so at α = 0.05 they count, at 0.01 they do not)
    assert text.startswith("❌ 7 regressions")
    html = tmp_path / "report.html"
    assert main(["diff", BASE, HEAD, "-o", str(tmp_path / "c.md"), "--html", str(html)]) == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _with_bad_call() -> dict:
    record = syn.record([syn.test("t.py::a")])
    record["tests"][0]["calls"] = [{"cost_usd": "lots"}]
    return record


def _truncated(tmp_path: Path) -> Path:
    text = Path(HEAD).read_text(encoding="utf-8")
    path = tmp_path / "head.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path


@pytest.mark.parametrize("make, message", [
    (_truncated, r"head\.json:\d+:\d+: invalid JSON"),
    (lambda p: (p / "v2.json").write_text(json.dumps({**json.loads(Path(BASE).read_text()), "schema_version": 2}))
     and p / "v2.json", "schema version 2, newer than this pytest-llmops understands"),
    (lambda p: (p / "x.json").write_text('{"a": 1}') and p / "x.json", "not a pytest-llmops run record"),
    (lambda p: p / "missing.json", "missing.json: no such file"),
    (lambda p: (p / "bad.json").write_text(json.dumps(syn.record([syn.test("t.py::a", "exploded")])))
     and p / "bad.json", r"bad\.json: \$\.tests\[0\]\.outcome: Input should be 'passed'"),
    (lambda p: (p / "cost.json").write_text(json.dumps(_with_bad_call())) and p / "cost.json", r"cost\.json: \$\.tests\[0\]\.calls\[0\]\.cost_usd: Input should be a valid number"),
    (lambda p: (p / "dup.json").write_text(json.dumps(syn.record([syn.test("t.py::a"), syn.test("t.py::a")])))
     and p / "dup.json", r"duplicate test id\(s\) in one record: t.py::a"),
])
def test_bad_input_exits_2_with_a_clear_message(make, message, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = make(tmp_path)
    assert main(["diff", BASE, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-llmops diff: error: ")
    assert re.search(message, err), err


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", HEAD]) == 0
    assert "15 tests" in capsys.readouterr().out
    assert main(["show", HEAD, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("<!-- pytest-llmops-run -->")


def _shards() -> tuple[dict, dict, dict]:
    full = json.loads(Path(BASE).read_text(encoding="utf-8"))
    tests = full["tests"]
    one = syn.record(tests[:6], run=dict(full["run"], started_at="2026-03-01T10:00:00.000+00:00",
                                         finished_at="2026-03-01T10:01:00.000+00:00"),
                     prompts=full["prompts"], golden_sets=full["golden_sets"])
    two = syn.record(tests[6:], run=dict(full["run"], started_at="2026-03-01T10:00:05.000+00:00",
                                         finished_at="2026-03-01T10:02:00.000+00:00"),
                     prompts=full["prompts"], golden_sets=full["golden_sets"])
    return full, one, two


def test_merge_recomputes_totals_and_validates() -> None:
    full, one, two = _shards()
    merged = merge([one, two], sources=["s1.json", "s2.json"])
    RunRecord.model_validate(merged)
    assert [t["nodeid"] for t in merged["tests"]] == [t["nodeid"] for t in full["tests"]]
    assert merged["totals"] == full["totals"]
    assert merged["run"]["merged_from"] == ["s1.json", "s2.json"]
    assert merged["run"]["duration_s"] == 120.0
    assert merged["prompts"] == full["prompts"] and merged["golden_sets"] == full["golden_sets"]
    # the same test in two shards with the same result (a re-run shard) is kept once
    again = merge([one, two, one])
    assert len(again["tests"]) == len(full["tests"])


def test_merge_refuses_conflicts() -> None:
    _, one, two = _shards()
    other_commit = dict(two, run=dict(two["run"], git={"commit": "f" * 40, "branch": None, "dirty": False}))
    with pytest.raises(ReportError, match="different git commits.*--allow-mixed"):
        merge([one, other_commit])
    assert "merged shards from 2 git commits" in merge([one, other_commit], allow_mixed=True)["warnings"][0]
    changed = dict(one, tests=[dict(one["tests"][0], outcome="failed")])
    with pytest.raises(ReportError, match=r"tests/test_chat.py::test_greeting \(shard 1 and shard 2\)"):
        merge([one, changed])
    with pytest.raises(ReportError, match="no records"):
        merge([])


def test_cmd_merge_writes_a_loadable_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, one, two = _shards()
    paths = []
    for i, shard in enumerate((one, two)):
        paths.append(tmp_path / f"shard{i}.json")
        paths[-1].write_text(json.dumps(shard), encoding="utf-8")
    out = tmp_path / "merged.json"
    assert main(["merge", *map(str, paths), "-o", str(out)]) == 0
    assert len(load_record(out).tests) == 15
    assert main(["merge", str(paths[0]), str(tmp_path / "nope.json"), "-o", str(out)]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err
