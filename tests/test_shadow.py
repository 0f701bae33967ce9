"""Shadow tests over imported production cases: a candidate prompt version against the production answers,
paired per case, and the run's paired verdict (issue 19, item 3)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from inner_runs import configure, run

from pytest_llmops.cli import main
from pytest_llmops.review.shadow import shadow_verdicts
from pytest_llmops.scorers.shadow import production_answer
from pytest_llmops.testing.loopback import LoopbackServer

pytest.importorskip("litellm")

QUESTIONS = ["Where is my order?", "Can I pay by invoice?", "How do I reset my password?", "Do you ship to Canada?",
             "What is the refund window?", "How do I cancel my plan?", "Is there a student discount?",
             "Can I change my delivery address?", "Do you have a phone line?", "How do I export my data?"]
NEGATIVE = {0, 1, 2, 3, 4}  # production got a thumbs-down on these

PROMPT = """\
name: support
current: v1
versions:
  v1:
    template: "Answer: {{ question }}"
  v2:
    template: "Answer helpfully, step by step: {{ question }}"
"""

SHADOW_TEST = """
import pytest
from pytest_llmops.scorers.shadow import shadow_compare


@pytest.mark.golden("goldens/prod.jsonl", tags=["production"])
@pytest.mark.prompt("support", version="v2")
def test_shadow_v2(golden_case, prompt, llm, judge):
    candidate = llm.complete(prompt.render(question=golden_case.input)).text
    result = shadow_compare(candidate, golden_case, judge=judge, criteria="Answers the question helpfully.",
                            embedder="lexical")
    assert result.winner != "production", f"v2 loses to production on {golden_case.id}"
"""

_RESPONSE = re.compile(r"<<<RESPONSE-(\d)-(\w+)>>>\n(.*?)\n<<<END-RESPONSE-\1-\2>>>", re.DOTALL)


def responder(body: dict[str, Any]) -> Any:
    """The candidate answers step by step; the judge prefers it, except on invoices (production wins)."""
    text = "\n".join(str(m.get("content")) for m in body["messages"])
    found = {int(m.group(1)): m.group(3) for m in _RESPONSE.finditer(text)}
    if found:
        first = found[1]
        candidate_first = first.startswith("Step 1")
        candidate_better = "invoice" not in text
        winner = "first" if candidate_first == candidate_better else "second"
        return {"reasoning": "scripted", "winner": winner}
    question = body["messages"][-1]["content"].split(": ", 1)[-1]
    return f"Step 1: read '{question}'. Step 2: answer it."


def test_shadow_of_prompt_v2_against_imported_production_answers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-shadow")
    log = pytester.path / "prod.log.jsonl"
    log.write_text("".join(json.dumps({
        "id": f"req-{i}", "timestamp": f"2026-11-30T10:{i:02d}:00Z", "input": q, "output": f"Production says: {q}",
        "feedback": "thumbs_down" if i in NEGATIVE else "thumbs_up", "model": "loopback-model",
    }) + "\n" for i, q in enumerate(QUESTIONS)), encoding="utf-8")
    (pytester.path / "goldens").mkdir()
    assert main(["goldens", "import", str(log), "-o", "goldens/prod.jsonl"]) == 0
    capsys.readouterr()
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "support.yaml").write_text(PROMPT, encoding="utf-8")
    pytester.makepyfile(test_shadow_candidate=SHADOW_TEST)
    with LoopbackServer(responder=responder) as server:
        configure(pytester, server.base_url)
        result, record = run(pytester, "--llmops-record-mode=off")
    result.assert_outcomes(passed=9, failed=1)
    assert "v2 loses to production" in result.stdout.str()

    [verdict] = shadow_verdicts(record["tests"])
    assert (verdict.cases, verdict.wins, verdict.losses, verdict.ties) == (10, 9, 1, 0)
    assert verdict.verdict == "better" and verdict.pvalue == pytest.approx(22 / 1024)
    assert verdict.interval is not None and verdict.interval[0] < 0.9 < verdict.interval[1]
    assert len(verdict.negative_now_passing) == 4 and len(verdict.negative_still_failing) == 1
    assert 0 < verdict.similarity_mean < 1

    assert main(["shadow", str(pytester.path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "candidate is BETTER than production over 10 case(s)" in out
    assert "wins 9, losses 1, ties 0; win share 90%" in out and "sign test p = 0.0215" in out
    assert "cases from negative feedback that now pass (4):" in out


def _test(nodeid: str, value: float, outcome: str = "passed", negative: bool = False) -> dict[str, Any]:
    details = {"negative_feedback": negative}
    return {"nodeid": nodeid, "file": "t.py", "function": "test_s", "outcome": outcome,
            "metrics": [{"name": "shadow_preference", "value": value, "details": details}]}


def test_shadow_verdicts_worse_indistinguishable_and_ties() -> None:
    worse = [_test(f"t.py::test_s[{i}]", 0.0, "failed") for i in range(8)]
    [verdict] = shadow_verdicts(worse)
    assert verdict.verdict == "worse" and verdict.wins == 0 and verdict.pvalue == pytest.approx(2 / 256)
    mixed = [_test(f"t.py::test_s[{i}]", v) for i, v in enumerate([1.0, 0.0, 1.0, 0.5, 0.5])]
    [verdict] = shadow_verdicts(mixed)
    assert verdict.verdict == "indistinguishable" and verdict.ties == 2 and verdict.win_share == pytest.approx(2 / 3)
    assert shadow_verdicts([{"nodeid": "x", "file": "t.py", "function": "f", "metrics": []}]) == []


def test_production_answer_of_single_and_multi_turn_cases() -> None:
    class Case:
        id = "c"
        expected = None
        turns = [{"user": "a", "expected": "first"}, {"user": "b", "expected": "last"}]

    assert production_answer(Case()) == "last"
    Case.turns = []
    with pytest.raises(Exception, match="no production answer"):
        production_answer(Case())
