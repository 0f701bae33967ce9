"""The diff lists "cases from negative feedback that now pass" (issue 19).

Real runs through the plugin: production conversations imported from a JSON-lines log (some with a
thumbs-down), a golden test over them, a base run where the app gets some answers wrong and a head run where
a fix makes some of them right.  ``pytest-llmops diff`` (text, markdown, JSON) and the plugin's own
end-of-session diff (``--llmops-baseline``) must list exactly the thumbs-down cases that failed (or did not
run) in base and pass in head, and count the ones still failing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from inner_runs import run

from pytest_llmops.cli import main
from pytest_llmops.review.diff import diff_records
from pytest_llmops.review.feedback import feedback_fixes, negative_feedback
from pytest_llmops.review.shadow import shadow_verdicts

# (question, feedback): the production answer to each question was rated by the user
LOG = [("How do I reset my password?", "thumbs_down"), ("Can I get a refund?", "thumbs_down"),
       ("Where are my invoices?", "thumbs_down"), ("How do I export my notes?", "thumbs_up"),
       ("Why is sync stuck?", "thumbs_down"), ("Does Lumen work offline?", "thumbs_up")]
NEW = ("How do I delete my account?", "thumbs_down")  # imported after the base run

TEST = """
import pytest
from app import answer


@pytest.mark.golden("goldens/prod.jsonl", tags=["production"])
def test_prod(golden_case):
    topic = golden_case.input.split()[-1].rstrip("?")
    assert topic in answer(golden_case.input), f"off-topic answer to {golden_case.input!r}"
"""
# base: answers the password and export questions only; head: also refunds, offline mode and accounts
BASE_APP = "def answer(q):\n    return 'See password and notes help.'\n"
HEAD_APP = "def answer(q):\n    return 'See password, notes, refund, offline and account help.'\n"


def write_log(path: Path, rows: list[tuple[str, str]], start: int = 0) -> None:
    path.write_text("".join(json.dumps({
        "id": f"req-{start + i}", "timestamp": f"2026-11-30T10:{start + i:02d}:00Z", "input": question,
        "output": "a production answer", "feedback": feedback, "model": "support-model",
    }) + "\n" for i, (question, feedback) in enumerate(rows)), encoding="utf-8")


def import_log(pytester: pytest.Pytester, rows: list[tuple[str, str]], start: int,
               capsys: pytest.CaptureFixture[str]) -> None:
    log = pytester.path / f"log-{start}.jsonl"
    write_log(log, rows, start)
    assert main(["goldens", "import", str(log), "-o", str(pytester.path / "goldens" / "prod.jsonl")]) == 0
    capsys.readouterr()


def nodeids_by_question(record: dict[str, Any], golden: Path) -> dict[str, str]:
    cases = {json.loads(line)["id"]: json.loads(line)["input"] for line in golden.read_text().splitlines()}
    return {cases[t["golden"]["case_id"]]: t["nodeid"] for t in record["tests"]}


@pytest.fixture
def runs(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    (pytester.path / "goldens").mkdir()
    import_log(pytester, LOG, 0, capsys)
    pytester.makepyfile(test_prod=TEST, app=BASE_APP)
    result, base = run(pytester)
    result.assert_outcomes(passed=2, failed=4)
    shutil.copy(pytester.path / "r.json", pytester.path / "base.json")
    import_log(pytester, [NEW], len(LOG), capsys)
    pytester.makepyfile(app=HEAD_APP)
    result, head = run(pytester)
    result.assert_outcomes(passed=5, failed=2)
    shutil.copy(pytester.path / "r.json", pytester.path / "head.json")
    ids = nodeids_by_question(head, pytester.path / "goldens" / "prod.jsonl")
    return {"base": base, "head": head, "ids": ids, "path": pytester.path}


def test_the_record_keeps_the_feedback_of_each_imported_case(runs: dict[str, Any]) -> None:
    tests = {t["nodeid"]: t for t in runs["head"]["tests"]}
    feedback = dict(LOG + [NEW])
    for question, nodeid in runs["ids"].items():
        assert tests[nodeid]["golden"]["feedback"] == feedback[question]
        assert negative_feedback(tests[nodeid]) is (feedback[question] == "thumbs_down")


def test_diff_lists_negative_feedback_cases_that_now_pass(runs: dict[str, Any],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ids, path = runs["ids"], runs["path"]
    result = diff_records(runs["base"], runs["head"])
    # refunds: thumbs-down, failed -> passed; account: thumbs-down, not in base -> passed.  Offline mode also
    # failed -> passed but its answer was liked (thumbs-up): not listed.  Invoices and sync still fail.
    assert [(c.nodeid, c.base, c.head) for c in result.feedback.now_passing] == sorted([
        (ids["Can I get a refund?"], "failed", "passed"), (ids["How do I delete my account?"], None, "passed")])
    assert result.feedback.still_failing == sorted([ids["Where are my invoices?"], ids["Why is sync stuck?"]])
    assert ids["Does Lumen work offline?"] not in {c.nodeid for c in result.feedback.now_passing}

    assert main(["diff", str(path / "base.json"), str(path / "head.json"), "--format", "markdown"]) in (0, 1)
    markdown = capsys.readouterr().out
    section = markdown.split("### 👍 Cases from negative feedback that now pass (2)", 1)[1].split("###", 1)[0]
    assert "_2 case(s) from negative feedback still failing_" in section
    assert f"`{ids['Can I get a refund?']}` | failed | passed" in section
    assert f"`{ids['How do I delete my account?']}` | not in base | passed" in section
    assert ids["Does Lumen work offline?"] not in section and ids["How do I reset my password?"] not in section

    assert main(["diff", str(path / "base.json"), str(path / "head.json"), "--format", "text"]) in (0, 1)
    text = capsys.readouterr().out
    assert "cases from negative feedback that now pass (2):" in text
    assert "cases from negative feedback still failing: 2" in text

    assert main(["diff", str(path / "base.json"), str(path / "head.json"), "--format", "json"]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert len(data["feedback"]["now_passing"]) == 2
    assert data["feedback"]["still_failing"] == result.feedback.still_failing

    html_path = path / "diff.html"
    assert main(["html", str(path / "head.json"), "--baseline", str(path / "base.json"), "-o", str(html_path)]) == 0
    html = html_path.read_text(encoding="utf-8")
    section = html.split('<h2 id="feedback">Cases from negative feedback that now pass (2)</h2>', 1)[1].split("<h2", 1)[0]
    assert f"<code>{ids['Can I get a refund?']}</code></td><td>failed</td><td>passed" in section
    assert "2 case(s) from negative feedback still failing" in section


def test_no_section_when_no_negative_feedback_case_changed(runs: dict[str, Any],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = runs["path"]
    assert main(["diff", str(path / "head.json"), str(path / "head.json"), "--format", "markdown"]) in (0, 1)
    markdown = capsys.readouterr().out
    assert "Cases from negative feedback that now pass (0)" in markdown  # still failing ones are still counted
    assert "_2 case(s) from negative feedback still failing_" in markdown
    # head -> base: the fixed cases fail again; nothing "now passes"
    result = diff_records(runs["head"], runs["base"])
    assert result.feedback.now_passing == []
    # the same runs of cases without recorded feedback: nothing to list
    base, head = ({**r, "tests": [{**t, "golden": {k: v for k, v in t["golden"].items() if k != "feedback"}}
                                  for t in r["tests"]]} for r in (runs["base"], runs["head"]))
    assert not diff_records(base, head).feedback
    assert main(["diff", str(path / "base.json"), str(path / "base.json"), "--format", "markdown"]) in (0, 1)
    assert "Cases from negative feedback" in capsys.readouterr().out  # base has 3 thumbs-down failures


def test_session_end_diff_against_a_baseline_reports_them(runs: dict[str, Any], pytester: pytest.Pytester,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result, _ = run(pytester, "--llmops-baseline=base.json", "--llmops-fail-on=none")
    result.stdout.fnmatch_lines(["*2 case(s) from negative feedback now pass, 2 still failing*"])
    markdown = summary.read_text(encoding="utf-8")
    assert "### 👍 Cases from negative feedback that now pass (2)" in markdown
    assert runs["ids"]["Can I get a refund?"] in markdown


def _entry(nodeid: str, outcome: str, *, golden_feedback: str | None = None, metric_negative: bool = False
           ) -> dict[str, Any]:
    golden = {"path": "g.jsonl", "hash": "h", "case_id": nodeid}
    if golden_feedback is not None:
        golden["feedback"] = golden_feedback
    metrics = [{"name": "shadow_preference", "value": 1.0, "details": {"negative_feedback": metric_negative}}]
    return {"nodeid": nodeid, "file": "t.py", "function": "test_s", "outcome": outcome, "golden": golden,
            "metrics": metrics}


def test_feedback_from_golden_ref_or_shadow_metric_details_is_the_same_for_diff_and_shadow() -> None:
    base = {"a": _entry("a", "failed", golden_feedback="Thumbs_Down"), "b": _entry("b", "failed"),
            "c": _entry("c", "skipped", metric_negative=True), "d": _entry("d", "passed", golden_feedback="down")}
    head = {"a": _entry("a", "passed", golden_feedback="Thumbs_Down"), "b": _entry("b", "passed"),
            "c": _entry("c", "passed", metric_negative=True), "d": _entry("d", "passed", golden_feedback="down"),
            "e": _entry("e", "failed", golden_feedback="thumbs_up")}
    fixes = feedback_fixes(base, head)
    assert [c.nodeid for c in fixes.now_passing] == ["a", "c"]  # d passed already; b and e: no negative feedback
    assert fixes.still_failing == []
    [verdict] = shadow_verdicts(list(head.values()))
    assert verdict.negative_now_passing == ["a", "c", "d"] and verdict.negative_still_failing == []
