"""Regression kinds on records written by real pytest runs (pytester): a base test suite, then a modified head."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from pytest_llmops.review.diff import diff_records
from pytest_llmops.review.load import load_review_record

PROMPT = """\
name: greet
versions:
  v1:
    template: "Say hello to {{ name }}"
"""

SUITE = '''
import pytest
from pytest_llmops.errors import ProviderError
from pytest_llmops.record.recorder import current_sample_index

QUALITY = {quality}
SAMPLED_FAILS = {sampled_fails}
NOISY_FAILS = {noisy_fails}


def test_stable():
    assert 1 + 1 == 2


def test_breaks():
    assert QUALITY > 0.7, "quality dropped"


def test_was_failing():
    assert {fixed}


@pytest.mark.golden("cases.jsonl")
def test_golden(golden_case, llmops):
    n = int(golden_case.id.split("-")[1])
    score = QUALITY - n * 0.01
    llmops.metric("recall@5", score, min=0.3)
    llmops.artifact("output", "answer for " + golden_case.id)
    assert score > 0.6 or n % 2


@pytest.mark.sampling(n=20, min_pass_rate=0.5, early_stop=False)
def test_sampled():
    assert current_sample_index() not in SAMPLED_FAILS


@pytest.mark.sampling(n=20, min_pass_rate=0.5, early_stop=False)
def test_sampled_noise():
    assert current_sample_index() not in NOISY_FAILS


@pytest.mark.prompt("greet", version="v1")
def test_prompt(prompt):
    assert prompt.render(name="x")


def test_outage():
    if QUALITY < 0.7:
        raise ProviderError("503 from provider after 3 retries")
'''

BASE = dict(quality=0.9, sampled_fails={3}, noisy_fails={1, 2}, fixed=False)
HEAD = dict(quality=0.5, sampled_fails=set(range(0, 20, 2)) | {1, 3}, noisy_fails={1, 2, 5}, fixed=True)
GOOD = dict(BASE, fixed=True)  # everything passes


def _plugin_args() -> list[str]:
    """The plugin loads from its pytest11 entry point once installed; before that, name it explicitly."""
    installed = any(ep.value == "pytest_llmops.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    return [] if installed else ["-p", "pytest_llmops.plugin"]


def _write_suite(pytester: pytest.Pytester, values: dict, greeting: str) -> None:
    pytester.makefile(".jsonl", cases="\n".join(json.dumps({"id": f"case-{i}", "input": f"q{i}"}) for i in range(12)))
    (pytester.path / "prompts").mkdir(exist_ok=True)
    (pytester.path / "prompts" / "greet.yaml").write_text(PROMPT.replace("Say hello", greeting), encoding="utf-8")
    pytester.makepyfile(test_app=SUITE.format(**values))


@pytest.fixture
def records(pytester: pytest.Pytester) -> tuple[Path, Path, pytest.Pytester]:
    _write_suite(pytester, BASE, "Say hello")
    base = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", "--llmops-report=base.json")
    base.assert_outcomes(passed=18, failed=1)  # test_was_failing fails in base
    _write_suite(pytester, HEAD, "Say hi")  # prompt content edited, version still v1
    head = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", "--llmops-report=head.json")
    assert head.ret == 1
    return pytester.path / "base.json", pytester.path / "head.json", pytester


def test_regression_kinds_from_real_runs(records: tuple[Path, Path, pytest.Pytester],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    base_path, head_path, pytester = records
    result = diff_records(load_review_record(base_path), load_review_record(head_path))
    kinds = {(f.kind, f.subject) for f in result.regressions}
    print("\n".join(f"{f.kind}: {f.subject}: {f.detail}" for f in result.regressions))

    assert ("outcome", "test_app.py::test_breaks") in kinds
    # golden set: even cases now fail -> exact McNemar on 6 discordant pairs, p = 0.5**6
    golden = [f for f in result.regressions if f.kind == "golden-passfail"]
    assert [f.subject for f in golden] == ["test_app.py::test_golden over cases.jsonl"]
    assert "p = 0.0156" in golden[0].detail
    assert ("golden-metric", "test_app.py::test_golden over cases.jsonl") in kinds
    group = result.golden_groups[0]
    assert (group.pairs, group.worse, group.better) == (12, 6, 0)
    # sampled: 19/20 -> 8/20 is significant; 18/20 -> 17/20 is noise, never a regression
    assert ("sampled", "test_app.py::test_sampled") in kinds
    assert not any(f.subject == "test_app.py::test_sampled_noise" for f in result.regressions)
    assert [f.subject for f in result.noise if f.kind == "rate-noise"] == ["test_app.py::test_sampled_noise"]
    # prompt content changed under the same name@version
    assert ("prompt-edit", "greet@v1") in kinds
    # the provider outage is an error, listed, never a regression
    assert [(e.nodeid, e.error_kind) for e in result.errors] == [("test_app.py::test_outage", "provider")]
    assert not any("test_outage" in f.subject for f in result.regressions)
    # failed -> passed is an improvement
    assert [f.subject for f in result.improvements if f.kind == "fixed"] == ["test_app.py::test_was_failing"]
    assert result.headline() == f"❌ {len(result.regressions)} regressions"

    # the same head suite run with --llmops-baseline: the session fails and the step summary gets the markdown
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = pytester.runpytest(*_plugin_args(), "-p", "no:cacheprovider", f"--llmops-baseline={base_path}")
    assert run.ret == 1
    text = run.stdout.str()
    assert "llmops baseline base.json: ❌" in text
    assert "passed → failed: test_app.py::test_breaks" in text
    assert "session fails: fail-on regression" in text
    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith("<!-- pytest-llmops-diff -->")
    assert "## ❌" in markdown and "`test_app.py::test_breaks`" in markdown


def test_fail_on_rules_decide_the_session_outcome(pytester: pytest.Pytester) -> None:
    _write_suite(pytester, GOOD, "Say hello")
    args = [*_plugin_args(), "-p", "no:cacheprovider"]
    assert pytester.runpytest(*args, "--llmops-report=base.json").ret == 0
    same = pytester.runpytest(*args, "--llmops-baseline=base.json", "--llmops-report=head.json")
    assert same.ret == 0
    assert "llmops baseline base.json: ✅ no regressions" in same.stdout.str()
    unchanged = diff_records(load_review_record(pytester.path / "base.json"),
                             load_review_record(pytester.path / "head.json"))
    assert (unchanged.regressions, unchanged.matched) == ([], 19)
    # the only change: prompt text edited under the same version; every test still passes
    _write_suite(pytester, GOOD, "Say hi")
    report_only = pytester.runpytest(*args, "--llmops-baseline=base.json", "--llmops-fail-on=none")
    assert report_only.ret == 0
    assert "llmops baseline base.json: ❌ 1 regression" in report_only.stdout.str()
    gated = pytester.runpytest(*args, "--llmops-baseline=base.json")
    assert gated.ret == 1
    assert "prompt edited without version bump: greet@v1" in gated.stdout.str()
