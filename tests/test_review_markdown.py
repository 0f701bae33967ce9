"""The PR comment: golden file, size cap, stable bytes, escaping; and the one-run summary.

Regenerate the expected file after an intended change of the output with
``LLMOPS_REGEN_GOLDEN=1 PYTHONPATH=. python -m pytest tests/test_review_markdown.py`` and review its diff.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytest_llmops.review import synthetic as syn
from pytest_llmops.review.diff import diff_records
from pytest_llmops.review.load import load_review_record
from pytest_llmops.review.markdown import (
    MAX_CHARS,
    cell,
    code,
    render_markdown,
    render_run_markdown,
    render_run_text,
    render_text,
)

DATA = Path(__file__).parent / "data" / "review"


def _diff_of_checked_in_records():
    base = load_review_record(DATA / "base.json")
    head = load_review_record(DATA / "head.json")
    return diff_records(base, head, base_label="base.json", head_label="head.json")


def test_markdown_matches_the_checked_in_golden_file() -> None:
    text = render_markdown(_diff_of_checked_in_records())
    expected = DATA / "expected_diff.md"
    if os.environ.get("LLMOPS_REGEN_GOLDEN"):
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def test_markdown_content_and_order() -> None:
    text = render_markdown(_diff_of_checked_in_records())
    lines = text.splitlines()
    assert lines[1] == "## ❌ 8 regressions"  # issue 13: golden cases are evidence of their group, not regressions
    assert "| pass rate (95% Wilson) | 93.3% \\[70.2%, 98.8%\\] (14/15) | 50.0% \\[26.8%, 73.2%\\] (7/14) | -43.3 pp |" in lines
    order = [text.index(title) for title in ("### ❌ Regressions", "### ✅ Improvements" if "### ✅" in text else
                                              "### 📝 Prompt", "### ⚠ Errors", "### Added tests",
                                              "### Removed tests", "### Noise")]
    assert order == sorted(order)
    # severity: test outcome regressions first, the run's cost growth after the statistical findings
    assert text.index("`tests/test_chat.py::test_refund_policy`") < text.index(
        "one-sided Fisher exact") < text.index("+35.4% (limit +20%)")  # issue 13: Fisher inside the family
    # a message with markdown specials stays inside its cell
    assert "answer mentions \\`30 days\\` \\| expected \\*14\\* days" in text
    # noise is folded
    assert text.index("### Noise") < text.index("<details><summary>4 entries</summary>")


def test_same_inputs_same_bytes() -> None:
    assert render_markdown(_diff_of_checked_in_records()) == render_markdown(_diff_of_checked_in_records())


def test_interrupted_head_is_flagged_in_the_headline() -> None:
    result = diff_records(syn.record([syn.test("t.py::a"), syn.test("t.py::b")]),
                          syn.record([syn.test("t.py::a", "failed")], run=syn.run_info(interrupted=True)))
    text = render_markdown(result)
    assert text.splitlines()[1] == "## ⚠ head run was interrupted — partial comparison — ❌ 1 regression"
    assert "may not have run" in text


def test_comment_never_exceeds_the_limit() -> None:
    long = "x" * 400
    base = [syn.test(f"tests/test_big.py::test_case[{i:05d}-{long[:80]}]") for i in range(3000)]
    head = [syn.test(f"tests/test_big.py::test_case[{i:05d}-{long[:80]}]", "failed", message=long) for i in range(3000)]
    result = diff_records(syn.record(base), syn.record(head))
    text = render_markdown(result)
    assert len(text) <= MAX_CHARS
    assert text.splitlines()[1] == "## ❌ 3000 regressions"
    assert "more not shown (size limit)" in text and "were left out" in text
    assert text.count("<details>") == text.count("</details>")
    tiny = render_markdown(result, max_chars=1500)
    assert len(tiny) <= 1500 and "cut at the size limit" in tiny
    assert tiny.count("<details>") == tiny.count("</details>")


def test_cells_and_code_spans_are_escaped() -> None:
    assert cell("a|b\nc <b>*x*</b>") == "a\\|b c &lt;b&gt;\\*x\\*&lt;/b&gt;"
    assert code("t.py::test[a|b]") == "`t.py::test[a\\|b]`"
    assert code("t.py::test[`x`]") == "``t.py::test[`x`]``"
    assert code("`x`") == "`` `x` ``"
    assert cell(None) == ""
    assert len(cell("y" * 1000)) == 300


def test_text_rendering() -> None:
    text = render_text(_diff_of_checked_in_records(), limit=3)
    assert text.startswith("❌ 8 regressions\n")
    assert "regressions (8):" in text and "  ... and 5 more" in text
    assert "errors (not regressions) (1):\n  tests/test_chat.py::test_escalation [provider] ProviderError" in text


def test_one_run_summary() -> None:
    record = load_review_record(DATA / "head.json")
    text = render_run_text(record)
    assert "15 tests" in text and "pass rate: 50.0%" in text
    assert "errors (1):\n  tests/test_chat.py::test_escalation [provider]: ProviderError" in text
    markdown = render_run_markdown(record)
    assert markdown.startswith("<!-- pytest-llmops-run -->\n## pytest-llmops run")
    assert "| `tests/test_chat.py::test_refund_policy` |" in markdown
    empty = render_run_markdown(syn.record([], run=syn.run_info(interrupted=True)))
    assert "## ⚠ interrupted run — partial results — pytest-llmops run" in empty
    assert "the record has no tests" in empty
    assert "the record has no tests" in render_run_text(syn.record([]))
