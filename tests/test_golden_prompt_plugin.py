"""Golden sets and prompt versions through real pytest runs: ids, records, errors, approvals, -n 2."""

from __future__ import annotations

import json

import pytest
from conftest import by_nodeid, load_report

PROMPT = """
name: support_answer
current: v1
versions:
  v1:
    params: {temperature: 0.2}
    messages:
      - {role: system, content: "Answer from the docs."}
      - {role: user, content: "{{ question }}"}
  v2:
    template: "Be brief. {{ question }}"
"""

CASES = [
    {"id": "reset-password", "input": "How do I reset my password?", "tags": ["account"]},
    {"id": "refund", "input": "Can I get a refund?", "tags": ["billing"]},
    {"id": "export", "input": "How do I export notes?", "tags": ["data"]},
]

TEST = """
import pytest

@pytest.mark.golden("goldens/support.jsonl")
@pytest.mark.prompt("support_answer", versions=["v1", "v2"])
def test_answer(golden_case, prompt, llmops):
    messages = prompt.render(question=golden_case.input)
    assert messages[-1]["content"].endswith(golden_case.input)
    llmops.metric("length", len(messages[-1]["content"]))

@pytest.mark.golden("goldens/support.jsonl", tags=["account"])
def test_tagged(golden_case):
    assert "account" in golden_case.tags

@pytest.mark.prompt("support_answer")
def test_current(prompt, prompts):
    assert prompt.version == "v1"
    assert prompts.get("support_answer", "v2").version == "v2"
    prompt.render(question="x")

@pytest.mark.prompt("support_answer", version="v1")
def test_missing_variable(prompt):
    prompt.render()
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "support_answer.yaml").write_text(PROMPT)
    (pytester.path / "goldens").mkdir()
    (pytester.path / "goldens" / "support.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES))
    pytester.makepyfile(test_support=TEST)
    return pytester


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_golden_and_prompt_versions(project: pytest.Pytester, extra: list[str]) -> None:
    result = project.runpytest_subprocess("--llmops-report=r.json", "-v", *extra)
    result.stdout.fnmatch_lines(["*test_answer?reset-password-support_answer@v2?*"])
    tests = by_nodeid(load_report(project.path / "r.json"))
    entry = tests["test_support.py::test_answer[reset-password-support_answer@v2]"]
    assert entry["golden"]["case_id"] == "reset-password"
    assert entry["golden"]["path"] == "goldens/support.jsonl"
    assert entry["prompts"][0]["name"] == "support_answer" and entry["prompts"][0]["version"] == "v2"
    assert len(entry["prompts"][0]["hash"]) == 64
    assert len([n for n in tests if n.startswith("test_support.py::test_answer[")]) == 6
    assert [n for n in tests if "test_tagged" in n] == ["test_support.py::test_tagged[reset-password]"]
    missing = tests["test_support.py::test_missing_variable"]
    # issue 18: a usage error (a missing template variable) is an error, not evidence about the model
    assert missing["outcome"] == "error" and missing["error_kind"] == "config" and "question" in missing["message"]
    report = load_report(project.path / "r.json")
    assert report["golden_sets"][0]["cases"] == 3
    assert {(p["name"], p["version"]) for p in report["prompts"]} == {("support_answer", "v1"), ("support_answer", "v2")}


def test_golden_tags_option(project: pytest.Pytester) -> None:
    result = project.runpytest("--llmops-golden-tags=billing", "-k", "test_answer", "-q")
    result.assert_outcomes(passed=2)


def test_broken_golden_file_errors_that_test_only(pytester: pytest.Pytester) -> None:
    (pytester.path / "goldens").mkdir()
    (pytester.path / "goldens" / "bad.jsonl").write_text('{"id": "a", "input": "x"}\n{"id": "a", "input": "y"}\n')
    pytester.makepyfile("""
        import pytest
        @pytest.mark.golden("goldens/bad.jsonl")
        def test_cases(golden_case): pass
        def test_other(): pass
    """)
    result = pytester.runpytest("--llmops-report=r.json")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["GoldenError: invalid golden set*bad.jsonl*", "*bad.jsonl:2: duplicate id 'a' (first used on line 1)*"])


def test_unknown_prompt_lists_known_ones(project: pytest.Pytester) -> None:
    project.makepyfile(test_unknown="""
        import pytest
        @pytest.mark.prompt("support_answer", version="v9")
        def test_x(prompt): pass
    """)
    result = project.runpytest("test_unknown.py")
    result.stdout.fnmatch_lines(["*PromptError*v9*v1*v2*"])


def test_approved_outputs_round_trip(pytester: pytest.Pytester) -> None:
    (pytester.path / "goldens").mkdir()
    golden = pytester.path / "goldens" / "g.jsonl"
    golden.write_text('{"id": "a", "input": "hello"}\n{"id": "b", "input": "world"}\n')
    pytester.makepyfile("""
        import pytest
        @pytest.mark.golden("goldens/g.jsonl")
        def test_echo(golden_case, llmops):
            llmops.approved(golden_case.input.upper())
    """)
    first = pytester.runpytest()
    first.assert_outcomes(failed=2)
    first.stdout.fnmatch_lines(["*no approved output yet*--llmops-update-goldens*"])
    pytester.runpytest("--llmops-update-goldens").assert_outcomes(passed=2)
    assert [json.loads(line)["approved"] for line in golden.read_text().splitlines()] == ["HELLO", "WORLD"]
    pytester.runpytest().assert_outcomes(passed=2)
