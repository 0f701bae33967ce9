"""The spine: the plugin loads lazily and writes one schema-valid run record per run (also under xdist)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import by_nodeid, load_report

HEAVY = ("litellm", "torch", "sentence_transformers", "sklearn", "scipy", "jinja2")

OUTCOMES_SUITE = """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_pass(llmops):
    llmops.metric("faithfulness", 0.91, min=0.8)
    llmops.note("looked fine")
    llmops.artifact("output", {"text": "hello"})

def test_fail():
    assert 1 + 1 == 3, "arithmetic is broken"

def test_error(broken):
    pass

def test_skip():
    pytest.skip("not today")

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

@pytest.mark.xfail(reason="fixed meanwhile")
def test_xpass():
    pass

@pytest.mark.parametrize("word", ["alpha", "beta"])
def test_param(word):
    assert word
"""


def _expect_outcomes(report: dict) -> None:
    tests = by_nodeid(report)
    expected = {
        "test_outcomes.py::test_pass": "passed",
        "test_outcomes.py::test_fail": "failed",
        "test_outcomes.py::test_error": "error",
        "test_outcomes.py::test_skip": "skipped",
        "test_outcomes.py::test_xfail": "xfailed",
        "test_outcomes.py::test_xpass": "xpassed",
        "test_outcomes.py::test_param[alpha]": "passed",
        "test_outcomes.py::test_param[beta]": "passed",
    }
    assert {k: tests[k]["outcome"] for k in expected} == expected
    assert report["totals"]["outcomes"] == {"error": 1, "failed": 1, "passed": 3, "skipped": 1, "xfailed": 1, "xpassed": 1}
    passed = tests["test_outcomes.py::test_pass"]
    assert passed["metrics"][0]["name"] == "faithfulness"
    assert passed["metrics"][0]["passed"] is True
    assert passed["notes"] == ["looked fine"]
    assert passed["artifacts"] == {"output": {"text": "hello"}}
    assert "arithmetic is broken" in tests["test_outcomes.py::test_fail"]["message"]
    assert "fixture exploded" in tests["test_outcomes.py::test_error"]["message"]
    assert tests["test_outcomes.py::test_param[beta]"]["function"] == "test_param"
    assert tests["test_outcomes.py::test_param[beta]"]["params"] == "beta"
    assert report["run"]["interrupted"] is False
    assert report["schema_version"] == 1


@pytest.mark.parametrize("extra", [[], ["-p", "no:xdist"], ["-n", "2"]], ids=["plain", "no-xdist", "xdist-2"])
def test_report_has_every_outcome(pytester: pytest.Pytester, extra: list[str]) -> None:
    pytester.makepyfile(test_outcomes=OUTCOMES_SUITE)
    result = pytester.runpytest_subprocess("--llmops-report=out/report.json", *extra)
    assert result.ret == 1
    report = load_report(pytester.path / "out" / "report.json")
    _expect_outcomes(report)
    if extra == ["-n", "2"]:
        assert report["run"]["workers"] == 2
        assert {t.get("worker") for t in report["tests"]} <= {"gw0", "gw1"}


def test_ini_and_cli_precedence(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmops_report = from-ini.json\n")
    pytester.makepyfile("def test_ok(): pass")
    assert pytester.runpytest().ret == 0
    assert (pytester.path / "from-ini.json").exists()
    assert pytester.runpytest("--llmops-report=from-cli.json").ret == 0
    assert (pytester.path / "from-cli.json").exists()


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("-p", "no:llmops", "--llmops-report=x.json")
    assert result.ret == 4  # the option is unknown once the plugin is off
    assert not (pytester.path / "x.json").exists()


def test_lazy_import_and_idle_run_import_nothing_heavy(pytester: pytest.Pytester) -> None:
    code = "import sys, pytest_llmops, pytest_llmops.plugin, pytest_llmops.plugin.state; " \
           f"print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    pytester.makeconftest(f"""
        import sys, json
        def pytest_unconfigure(config):
            open("modules.json", "w").write(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """)
    pytester.makepyfile("def test_ok(): assert True")
    assert pytester.runpytest_subprocess("--llmops-report=r.json").ret == 0
    assert json.loads((pytester.path / "modules.json").read_text()) == []


def test_markers_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.budget(usd=0.5)
        @pytest.mark.llm(model="openai/x")
        def test_ok(): pass
    """)
    assert pytester.runpytest("--strict-markers").ret == 0
    out = pytester.runpytest("--markers").stdout.str()
    for name in ("golden(", "prompt(", "sampling(", "budget(", "aggregate(", "live_local"):
        assert f"@pytest.mark.{name}" in out


def test_unknown_marker_argument_is_a_usage_error_naming_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.budget(dollars=1)
        def test_cheap(): pass
    """)
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*test_unknown_marker_argument_is_a_usage_error_naming_the_test.py::test_cheap*dollars*valid: p95_latency_s, tokens, usd*"])


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    (pytester.path / "adir").mkdir()
    result = pytester.runpytest("--llmops-report=adir")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--llmops-report*cannot write*"])
    pytester.makeini("[pytest]\nllmops_record_mode = sometimes\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*ini key llmops_record_mode*'sometimes' is not one of*"])


def test_non_finite_metric_and_bad_artifact_fail_only_that_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_nan(llmops):
            llmops.metric("score", float("nan"))
        def test_artifact(llmops):
            llmops.artifact("obj", object())
        def test_fine(llmops):
            llmops.metric("score", 1.0)
    """)
    result = pytester.runpytest("--llmops-report=r.json")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*RecorderError*score*not finite*", "*RecorderError*not JSON-serializable*"])
    assert load_report(pytester.path / "r.json")["totals"]["outcomes"] == {"failed": 2, "passed": 1}


def test_keyboard_interrupt_writes_partial_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_first(): pass
        def test_interrupt(): raise KeyboardInterrupt
        def test_never(): pass
    """)
    result = pytester.runpytest_subprocess("--llmops-report=r.json")
    assert result.ret == 2
    report = load_report(pytester.path / "r.json")
    assert report["run"]["interrupted"] is True
    assert [t["nodeid"].split("::")[1] for t in report["tests"]] == ["test_first"]


def test_worker_crash_is_an_error_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import os
        def test_crash(): os._exit(3)
        def test_ok(): pass
    """)
    result = pytester.runpytest_subprocess("-n", "2", "--llmops-report=r.json")
    assert result.ret == 1
    tests = by_nodeid(load_report(pytester.path / "r.json"))
    crash = tests["test_worker_crash_is_an_error_with_the_reason.py::test_crash"]
    assert crash["outcome"] == "error" and crash["error_kind"] == "crash"
    assert "crashed" in crash["message"]
    assert tests["test_worker_crash_is_an_error_with_the_reason.py::test_ok"]["outcome"] == "passed"


def test_collection_error_still_writes_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_good="def test_ok(): pass", test_bad="def test_broken(:\n    pass")
    result = pytester.runpytest_subprocess("--llmops-report=r.json")
    assert result.ret == 2
    report = load_report(pytester.path / "r.json")
    assert report["collection_errors"][0]["nodeid"] == "test_bad.py"
    assert "SyntaxError" in report["collection_errors"][0]["message"] or "invalid syntax" in report["collection_errors"][0]["message"]
    assert report["run"]["interrupted"] is True


def test_terminal_summary_lists_recorded_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_low(llmops):
            llmops.metric("recall@5", 0.4, min=0.8)
        def test_high(llmops):
            llmops.metric("recall@5", 0.9, min=0.8)
    """)
    short = pytester.runpytest().stdout.str()
    assert "recall@5=0.4(>=0.8) ✗" in short and "test_high" not in short.split("llmops")[-1]
    verbose = pytester.runpytest("-v").stdout.str()
    assert "recall@5=0.9(>=0.8)" in verbose


def test_validate_cli(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest("--llmops-report=r.json")
    good = pytester.path / "r.json"
    assert _cli("validate", str(good)).returncode == 0
    data = json.loads(good.read_text())
    data["tests"][0]["outcome"] = "exploded"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    done = _cli("validate", str(bad))
    assert done.returncode == 1 and "$.tests[0].outcome" in done.stderr
    data["schema_version"] = 99
    bad.write_text(json.dumps(data))
    done = _cli("validate", str(bad))
    assert done.returncode == 1 and "newer than this pytest-llmops understands" in done.stderr
    bad.write_text(good.read_text()[:50])
    done = _cli("validate", str(bad))
    assert done.returncode == 1 and "invalid JSON" in done.stderr and "bad.json:" in done.stderr


def test_shipped_schema_matches_the_models() -> None:
    from pytest_llmops.record.io import SCHEMA_FILE
    from pytest_llmops.record.models import json_schema

    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), "run `pytest-llmops schema -o pytest_llmops/schema/run-record.schema.json`"


def test_secrets_are_removed_from_recorded_args(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_KEY", "acme-secret-value-123")
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest("--llmops-report=r.json", "-k", "acme-secret-value-123 or test_ok", "--basetemp=sk-abcdefghijklmnop")
    text = (pytester.path / "r.json").read_text()
    assert "acme-secret-value-123" not in text and "sk-abcdefghijklmnop" not in text
    assert "<redacted:ACME_API_KEY>" in text


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmops.cli", *args], capture_output=True, text=True)


def test_bad_fail_on_rule_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--llmops-fail-on=metric:recall")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*pytest-llmops:*metric:recall*"])
