"""Issue 16: the diff's "Judge" section -- audits and judge-corrected pass rates of base and head."""

from __future__ import annotations

import json
import textwrap

import pytest
from inner_runs import configure, run
from test_judge_audit import CRITERION, _audit_project, agreeing_judge, random_judge, scripted  # noqa: F401

from pytest_llmops.calls.engine import load_litellm
from pytest_llmops.cli import main
from pytest_llmops.scorers.judge.correction import corrected_pass_rate

pytest.importorskip("litellm")
load_litellm()


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _expected(record: dict) -> tuple[dict, dict]:
    """The record's audit of CRITERION, and its pass rate recomputed by correction.py from the audit's counts."""
    audit = next(a for a in record["judge_audits"] if a["criterion"] == CRITERION)
    rate = next(r for r in record["judge_pass_rates"] if r["criterion"] == CRITERION)
    again = corrected_pass_rate(rate["passed"], rate["verdicts"], audit["binary"])
    assert {k: rate[k] for k in again if k in rate} == {k: again[k] for k in rate if k in again}
    return audit, again


def _row_cells(audit: dict, rate: dict) -> list[str]:
    kappa_lo, kappa_hi = audit["agreement"]["kappa_ci"]
    cells = [f"{audit['agreement']['kappa']:.2f} \\[{kappa_lo:.2f}, {kappa_hi:.2f}\\] (40 items)",
             _pct(audit["agreement"]["raw_agreement"]),
             f"{_pct(rate['observed'])} \\[{_pct(rate['observed_ci'][0])}, {_pct(rate['observed_ci'][1])}\\]",
             f"{rate['passed']}/{rate['verdicts']} passed"]
    if rate["corrected"] is not None:
        lo, hi = rate["corrected_ci"]
        cells.append(f"{_pct(rate['corrected'])} \\[{_pct(lo)}, {_pct(hi)}\\]")
    else:
        cells.append("no better than chance")
    return cells


def test_diff_shows_the_judge_audits_and_corrected_pass_rates_of_base_and_head(pytester, scripted, tmp_path):  # noqa: F811
    _audit_project(pytester, scripted)
    scripted.responder = agreeing_judge
    _, base = run(pytester, "--llmops-record-mode=off")
    base_path = tmp_path / "base.json"
    base_path.write_text(json.dumps(base), encoding="utf-8")
    scripted.responder = random_judge  # head: a judge that fails its audit's gate
    result, head = run(pytester, "--llmops-record-mode=off", f"--llmops-baseline={base_path}", "--llmops-fail-on=none")
    head_path = tmp_path / "head.json"
    head_path.write_text(json.dumps(head), encoding="utf-8")
    base_audit, base_rate = _expected(base)
    head_audit, head_rate = _expected(head)
    assert base_audit["passed"] and not head_audit["passed"] and base_rate["corrected"] is not None

    # the plugin's end-of-session comparison
    out = result.stdout.str()
    assert f"judge: {CRITERION} [base]: audit κ {base_audit['agreement']['kappa']:.2f}" in out
    assert f"judge: head's judge on {CRITERION!r} failed its audit" in out and "do not trust its verdicts" in out

    assert main(["diff", str(base_path), str(head_path), "-o", str(tmp_path / "d.md"),
                 "--html", str(tmp_path / "d.html")]) in (0, 1)
    markdown = (tmp_path / "d.md").read_text(encoding="utf-8")
    section = markdown.split("### ⚖ Judge (audited against human labels)")[1].split("\n### ")[0]
    rows = {line.split(" | ")[1]: line for line in section.splitlines() if line.startswith("| States")}
    assert set(rows) == {"base", "head"}
    for run_name, audit, rate in (("base", base_audit, base_rate), ("head", head_audit, head_rate)):
        for cell in _row_cells(audit, rate):
            assert cell in rows[run_name], (cell, rows[run_name])
    assert "✅ passed: κ's lower bound ≥ 0.6" in rows["base"]
    assert "❌ failed: needs κ's lower bound ≥ 0.6" in rows["head"]
    assert "from a judge that failed its audit: do not trust them" in rows["head"]
    assert "failed its audit" not in rows["base"]
    assert f"⚠ head's judge on '{CRITERION}' failed its audit" in markdown.replace("\\", "")

    assert main(["diff", str(base_path), str(head_path), "--format", "text", "-o", str(tmp_path / "d.txt")]) in (0, 1)
    text = (tmp_path / "d.txt").read_text(encoding="utf-8")
    assert "judge (audited against human labels) (4):" in text
    assert f"pass rate {_row_cells(base_audit, base_rate)[2].replace(chr(92), '')} → corrected" in text
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert 'id="judge-table"' in html and _row_cells(base_audit, base_rate)[4].replace("\\", "") in html

    data = json.loads(main_json(base_path, head_path, tmp_path))
    entry = {e["criterion"]: e for e in data["judge"]}[CRITERION]
    assert entry["head"]["gate_passed"] is False and entry["base"]["corrected"] == base_rate["corrected"]
    assert entry["head"]["untrusted_verdicts"] == 1 and entry["base"]["untrusted_verdicts"] == 0


def main_json(base_path, head_path, tmp_path) -> str:
    main(["diff", str(base_path), str(head_path), "--format", "json", "-o", str(tmp_path / "d.json")])
    return (tmp_path / "d.json").read_text(encoding="utf-8")


def test_no_judge_section_without_an_audit(pytester, scripted, tmp_path):  # noqa: F811
    configure(pytester, scripted.base_url)
    pytester.makepyfile(test_app=textwrap.dedent("""
        def test_app_answer(judge):
            judge.check("answer QUALITY=4", criteria="States the refund window correctly.", min_score=3)
    """))
    scripted.responder = agreeing_judge
    _, record = run(pytester, "--llmops-record-mode=off")
    assert not record.get("judge_audits") and not record.get("judge_pass_rates")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    main(["diff", str(path), str(path), "-o", str(tmp_path / "d.md"), "--html", str(tmp_path / "d.html")])
    main(["diff", str(path), str(path), "--format", "text", "-o", str(tmp_path / "d.txt")])
    assert "Judge" not in (tmp_path / "d.md").read_text(encoding="utf-8")
    assert "judge (audited" not in (tmp_path / "d.txt").read_text(encoding="utf-8")
    assert 'id="judge-table"' not in (tmp_path / "d.html").read_text(encoding="utf-8")
    assert json.loads(main_json(path, path, tmp_path))["judge"] == []
