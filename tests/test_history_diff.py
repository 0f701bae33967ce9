"""The nightly history as the diff's noise model (``diff --history``, ``--llmops-history``).

A seeded nightly series (``review/history_synthetic.py``, no drift) is the history; base is one more night of
the same suite and head is base with one planted change, so every verdict below is caused by that change.
"""

from __future__ import annotations

import copy
import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pytest
import ruptures  # noqa: F401  (a C extension: imported once here, not inside an in-process pytester run)

from pytest_llmops.review import history_synthetic as hs
from pytest_llmops.review import synthetic as syn
from pytest_llmops.review.cli import main
from pytest_llmops.review.diff import DiffOptions, DiffResult, diff_records
from pytest_llmops.review.history_review import MIN_RUNS, load_history
from pytest_llmops.review.markdown import render_markdown, render_text

FLAKY = "tests/test_tools.py::test_tool_call[0]"  # replayed, outcome random per night: the history's "flaky"
STABLE = "tests/test_format.py::test_format[1]"  # replayed, always passes
SAMPLED_FLAKY = "tests/test_tone.py::test_tone[0]"  # sampled, true pass rate jumps between 0.97 and 0.45
BORDERLINE = "tests/test_tone.py::test_tone_borderline"  # sampled, pass rate steady at 0.84
GOLDEN = hs.GOLDEN
NEVER = 10**6  # no drift and no latency step in the series


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """(directory of 30 nightly records, directory of the first 4 of them, base record)."""
    records, _ = hs.series(runs=31, tests=40, seed=3, drift_at=NEVER, latency_at=NEVER)
    root = tmp_path_factory.mktemp("nightly")
    hs.write_series(root / "history", records[:30], seed=3)
    hs.write_series(root / "short", records[:MIN_RUNS - 1], seed=3)
    base = copy.deepcopy(records[30])
    for test in base["tests"]:
        if test["nodeid"] in (FLAKY, STABLE):
            test["outcome"] = "passed"
        if test["nodeid"] in (SAMPLED_FLAKY, BORDERLINE):
            test["outcome"], test["sampling"] = "passed", syn.sampling(17, 3)
    return root / "history", root / "short", _rebuilt(base)


def _rebuilt(record: dict[str, Any]) -> dict[str, Any]:
    """The record with totals and aggregates recomputed from its tests (as the plugin writes them)."""
    return syn.record(record["tests"], run=record["run"], prompts=record["prompts"], golden_sets=record["golden_sets"])


def _head(base: dict[str, Any], *, fail: tuple[str, ...] = (), similarity_drop: float = 0.0,
          cost_factor: float = 1.0, sampled: dict[str, int] | None = None) -> dict[str, Any]:
    head = copy.deepcopy(base)
    for test in head["tests"]:
        if test["nodeid"] in (sampled or {}):
            passes = (sampled or {})[test["nodeid"]]
            test["sampling"] = syn.sampling(passes, 20 - passes)
            test["outcome"] = test["sampling"]["verdict"]
        if test["nodeid"] in fail:
            test["outcome"], test["message"] = "failed", "assert tool == 'search'"
        golden = test.get("golden")
        for m in test.get("metrics") or ():
            if m["name"] == "similarity":
                m["value"] -= similarity_drop
        for call in test.get("calls") or ():
            if not golden:  # the golden set's cost is judged per group, which has no nightly series
                for key in ("cost_usd", "replayed_cost_usd"):
                    if call[key]:
                        call[key] *= cost_factor
    return _rebuilt(head)


def _diff(base: dict[str, Any], head: dict[str, Any], history: Path | None, **options: Any) -> DiffResult:
    opts = DiffOptions(**options)
    if history is not None:
        opts = DiffOptions(**options, history=load_history([history]), history_sources=(history.name,))
    return diff_records(base, head, opts)


def _kinds(findings: list[Any]) -> list[tuple[str, str]]:
    return [(f.kind, f.subject) for f in findings]


def test_the_history_knows_the_planted_series(nightly) -> None:
    history, _, _ = nightly
    model = load_history([history])
    assert model.runs == 30
    assert model.tests[FLAKY].label == "flaky" and model.tests[FLAKY].flips >= 5
    assert model.tests[STABLE].label == "stable"
    similarity = model.golden[(GOLDEN, "similarity")]
    assert 0.01 < similarity.q95 < 0.05 and similarity.n == 29


def test_unchanged_head_has_no_findings(nightly) -> None:
    history, _, base = nightly
    result = _diff(base, _head(base), history)
    assert result.regressions == [] and result.noise == [] and result.history is not None
    assert result.history.held == 0


def test_flaky_test_failing_is_nightly_noise_with_the_history_and_a_regression_without(nightly) -> None:
    history, _, base = nightly
    head = _head(base, fail=(FLAKY, STABLE))
    without = _diff(base, head, None)
    assert sorted(_kinds(without.regressions)) == [("outcome", STABLE), ("outcome", FLAKY)]
    with_history = _diff(base, head, history)
    assert _kinds(with_history.regressions) == [("outcome", STABLE)]  # the stable test still counts
    assert "history: stable, 0 flip(s) in 30 runs" in with_history.regressions[0].detail
    (held,) = [f for f in with_history.noise if f.kind == "nightly-noise"]
    noise = load_history([history]).tests[FLAKY]
    lo, hi = noise.flip_interval
    assert held.subject == FLAKY and held.label == "within nightly noise (history)"
    assert held.detail.startswith(f"passed → failed within nightly noise: flaky, {noise.flips} flip(s) in 30 runs "
                                  f"(flip rate {noise.flip_rate:.2f}, 95% CI {lo:.2f}–{hi:.2f})")
    assert with_history.history.held == 1 and with_history.family_size == without.family_size


def test_metric_drop_within_the_nightly_q95_is_noise_and_a_large_one_still_a_regression(nightly) -> None:
    history, _, base = nightly
    q95 = load_history([history]).golden[(GOLDEN, "similarity")].q95
    small = _head(base, similarity_drop=q95 / 2)
    without = _diff(base, small, None)
    assert [(f.kind, f.metric) for f in without.regressions] == [("golden-metric", "similarity")]
    result = _diff(base, small, history)
    assert result.regressions == []
    (held,) = [f for f in result.noise if f.kind == "nightly-noise"]
    assert held.metric == "similarity" and GOLDEN in held.subject
    assert f"within nightly noise: {q95 / 2:.4g} ≤ q95 ±{q95:.4g} over 29 run-to-run changes" in held.detail
    # the same p-values and adjustment as without the history: the family's error control is unchanged
    assert result.family_size == without.family_size

    large = _diff(base, _head(base, similarity_drop=0.1), history)
    assert [(f.kind, f.metric) for f in large.regressions] == [("golden-metric", "similarity")]
    assert f"beyond nightly noise (q95 ±{q95:.4g} over 29 run-to-run changes)" in large.regressions[0].detail
    assert not [f for f in large.noise if f.kind == "nightly-noise"]


def test_sampled_rate_drop_is_judged_against_its_own_nightly_q95(nightly) -> None:
    history, _, base = nightly
    model = load_history([history])
    flaky_q95, steady_q95 = model.tests[SAMPLED_FLAKY].sampled_rate.q95, model.tests[BORDERLINE].sampled_rate.q95
    assert steady_q95 < 0.3 < 0.5 < flaky_q95  # the seeded series: one jumps between 0.97 and 0.45, one holds 0.84
    head = _head(base, sampled={SAMPLED_FLAKY: 8, BORDERLINE: 8})  # 17/20 → 8/20 both: a 45-point drop
    without = _diff(base, head, None)
    assert sorted(_kinds(without.regressions)) == [("sampled", SAMPLED_FLAKY), ("sampled", BORDERLINE)]
    result = _diff(base, head, history)
    (kept,) = result.regressions
    assert (kept.kind, kept.subject) == ("sampled", BORDERLINE)  # borderline, yet far beyond its steady rate
    assert f"beyond nightly noise (q95 ±{steady_q95 * 100:.1f} pp over 29 run-to-run changes)" in kept.detail
    (held,) = [f for f in result.noise if f.kind == "nightly-noise"]
    assert held.subject == SAMPLED_FLAKY
    assert f"within nightly noise: 45.0 pp ≤ q95 ±{flaky_q95 * 100:.1f} pp over 29 run-to-run changes" in held.detail
    assert result.headline() == "❌ 1 regression (1 within nightly noise)"


def test_cost_rise_within_nightly_noise_is_noise(nightly) -> None:
    history, _, base = nightly
    q95 = load_history([history]).run["cost_usd"].q95
    nightly_pct = 100 * (2.718281828459045 ** q95 - 1)
    assert nightly_pct > 3  # the series' cost moves by a few percent from night to night
    head = _head(base, cost_factor=1 + nightly_pct / 200)  # non-golden calls up by half the nightly limit
    without = _diff(base, head, None, cost_pct=1.0)
    assert _kinds(without.regressions) == [("cost", "whole run")]
    result = _diff(base, head, history, cost_pct=1.0)
    assert result.regressions == []
    (held,) = [f for f in result.noise if f.kind == "nightly-noise"]
    assert held.subject == "whole run" and held.detail.startswith("cost up within nightly noise: +")
    assert f"max(option +1%, nightly q95 +{nightly_pct:.1f}% over 29 run-to-run changes)" in held.detail
    # the option's threshold still applies when it is the higher bar: the history never lowers it
    assert _diff(base, _head(base, cost_factor=1.5), history, cost_pct=1.0).regressions[0].kind == "cost"
    assert _diff(base, head, history).regressions == [] == _diff(base, head, None).regressions


def test_short_history_falls_back_and_says_so(nightly) -> None:
    _, short, base = nightly
    result = _diff(base, _head(base, fail=(FLAKY,), similarity_drop=0.002), short)
    assert sorted(_kinds(result.regressions)) == [("golden-metric", f"tests/test_rag.py::test_answer over {GOLDEN}"),
                                                  ("outcome", FLAKY)]
    for f in result.regressions:
        assert "history too short for it" in f.detail and "judged without it" in f.detail
    assert result.history is not None and result.history.held == 0
    assert result.history.too_short == [f"{GOLDEN}: similarity", FLAKY]
    header = result.history_text()
    assert header.startswith(f"history of {MIN_RUNS - 1} run(s) used as the noise model (short): 0 finding(s)")
    assert f"history too short (fewer than {MIN_RUNS} runs) for: {GOLDEN}: similarity, {FLAKY}" in header
    assert header in render_text(result)


def test_markdown_header_and_json_say_the_history_was_used(nightly) -> None:
    history, _, base = nightly
    result = _diff(base, _head(base, fail=(FLAKY,)), history)
    markdown = render_markdown(result)
    assert "history of 30 run(s) used as the noise model (history): 1 finding(s) within nightly noise." in markdown
    assert "### Noise (lower, not significant, or within nightly noise) (1)" in markdown
    data = result.to_dict()
    assert data["history"]["runs"] == 30 and data["options"]["history"] is None
    json.dumps(data)  # the noise model itself is not dumped
    assert "noise model" not in render_markdown(_diff(base, _head(base, fail=(FLAKY,)), None))


def test_cli_diff_with_history(nightly, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history, _, base = nightly
    base_path, head_path = tmp_path / "base.json", tmp_path / "head.json"
    base_path.write_text(json.dumps(base), encoding="utf-8")
    head_path.write_text(json.dumps(_head(base, fail=(FLAKY,))), encoding="utf-8")
    args = ["diff", str(base_path), str(head_path), "--format", "text", "--fail-on", "regression"]
    assert main(args) == 1
    assert capsys.readouterr().out.startswith("❌ 1 regression")
    html = tmp_path / "report.html"
    assert main([*args, "--history", str(history), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert f"history of 30 run(s) used as the noise model ({history})" in html.read_text(encoding="utf-8")
    assert out.startswith("✅ no regressions")
    assert f"history of 30 run(s) used as the noise model ({history})" in out
    assert f"within nightly noise (history): {FLAKY}" in out


def test_readme_demo_pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's example: the demo series with --pair, diffed without and with the history."""
    monkeypatch.chdir(tmp_path)
    assert hs.main(["demo-history", "--runs", "30", "--tests", "40", "--pair", "demo-pair"]) == 0
    assert len(list((tmp_path / "demo-history").glob("*.json"))) == 30
    capsys.readouterr()
    args = ["diff", "demo-pair/base.json", "demo-pair/head.json", "--format", "text"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert plain.startswith("❌ 2 regressions\n")
    assert main([*args, "--history", "demo-history", "--fail-on", "regression"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("✅ no regressions (2 within nightly noise)\n")
    assert "history of 30 run(s) used as the noise model (demo-history): 2 finding(s) within nightly noise" in out
    assert "within nightly noise (history): tests/test_tools.py::test_tool_call[0] (passed → failed) passed → " \
           "failed within nightly noise: flaky, 15 flip(s) in 30 runs (flip rate 0.52, 95% CI 0.34–0.69)" in out
    assert "golden set: metric worse within nightly noise: 0.01 ≤ q95 ±0.02113 over 28 run-to-run changes" in out
    records, _ = hs.series(runs=31, tests=40, seed=0, drift_at=15, latency_at=22)  # what --pair used
    base, head = hs.pair(records[-1], "tests/test_tools.py::test_tool_call[0]", drop=0.1)
    large = _diff(base, head, tmp_path / "demo-history")
    assert [f.kind for f in large.regressions] == ["golden-metric"]
    assert "beyond nightly noise (q95 ±0.02113 over 28 run-to-run changes)" in large.regressions[0].detail


@pytest.mark.parametrize("make", ["missing", "empty", "broken"])
def test_cli_bad_history_is_a_clear_error(nightly, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          make: str) -> None:
    _, _, base = nightly
    base_path = tmp_path / "base.json"
    base_path.write_text(json.dumps(base), encoding="utf-8")
    bad = tmp_path / "nightly"
    if make != "missing":
        bad.mkdir()
    if make == "broken":
        (bad / "run-1.json").write_text('{"schema_version": 1, "kind": "pytest-llmops-run", "run": {', "utf-8")
    assert main(["diff", str(base_path), str(base_path), "--history", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pytest-llmops diff: error: history {bad}: ") and "Traceback" not in err
    expected = {"missing": f"{bad}: no such file or directory", "empty": f"no run records found in {bad}",
                "broken": str(bad / "run-1.json")}[make]
    assert expected in err


INNER = """
import os


def test_tool_call():
    assert os.environ.get("INNER_TOOL_FAILS") != "1", "wrong tool"


def test_format():
    assert True
"""


def _plugin_args() -> list[str]:
    installed = any(ep.value == "pytest_llmops.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    return ["-p", "no:cacheprovider"] + ([] if installed else ["-p", "pytest_llmops.plugin"])


def _inner_history(directory: Path, runs: int) -> None:
    """Nightly records of the inner suite: test_tool_call comes and goes, test_format always passes."""
    records = []
    for night in range(runs):
        outcome = "failed" if night % 3 == 1 else "passed"
        records.append(syn.record(
            [syn.test("test_inner.py::test_tool_call", outcome), syn.test("test_inner.py::test_format")],
            run=syn.run_info(started_at=f"2026-01-{night + 1:02d}T02:00:00.000+00:00")))
    hs.write_series(directory, records)


def test_plugin_session_verdict_uses_the_history(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_inner=INNER)
    _inner_history(pytester.path / "nightly", 12)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert pytester.runpytest(*_plugin_args(), "--llmops-report=base.json").ret == 0
    monkeypatch.setenv("INNER_TOOL_FAILS", "1")

    gated = pytester.runpytest(*_plugin_args(), "--llmops-baseline=base.json")
    gated.stdout.fnmatch_lines(["llmops baseline base.json: ❌ 1 regression",
                                "*session fails: fail-on regression: 1 regression(s)"])

    held = pytester.runpytest(*_plugin_args(), "--llmops-baseline=base.json", "--llmops-history=nightly")
    held.assert_outcomes(passed=1, failed=1)
    text = held.stdout.str()
    assert "llmops baseline base.json: ✅ no regressions" in text
    assert "history of 12 run(s) used as the noise model" in text and "1 finding(s) within nightly noise" in text
    assert "session fails" not in text

    missing = pytester.runpytest(*_plugin_args(), "--llmops-baseline=base.json", "--llmops-history=nope")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    assert "--llmops-history: " in missing.stderr.str() and "nope does not exist" in missing.stderr.str()
    alone = pytester.runpytest(*_plugin_args(), "--llmops-history=nightly")
    assert alone.ret == pytest.ExitCode.USAGE_ERROR and "add --llmops-baseline=BASE" in alone.stderr.str()


def _small_history(directory: Path, scores: list[float], live_verdicts: str) -> None:
    """Nightly records of a two-test suite: a deterministic test with a bounded score, a plain live test."""
    records = []
    for night, (score, verdict) in enumerate(zip(scores, live_verdicts, strict=True)):
        records.append(syn.record([
            syn.test("t.py::scored", metrics=[syn.metric("score", score, min=0.5)]),
            syn.test("t.py::live", "passed" if verdict == "P" else "failed", calls=[syn.call()]),
        ], run=syn.run_info(started_at=f"2026-02-{night + 1:02d}T02:00:00.000+00:00")))
    hs.write_series(directory, records)


def _pair(base_score: float, head_score: float) -> tuple[dict[str, Any], dict[str, Any]]:
    def run(score: float, live: str) -> dict[str, Any]:
        return syn.record([syn.test("t.py::scored", metrics=[syn.metric("score", score, min=0.5)]),
                           syn.test("t.py::live", live, calls=[syn.call()])])
    return run(base_score, "passed"), run(head_score, "failed")


def test_metric_crossing_and_live_flip_against_the_history(tmp_path: Path) -> None:
    scores = [0.62, 0.55, 0.66, 0.58, 0.64, 0.57, 0.63, 0.60, 0.65, 0.56]
    _small_history(tmp_path / "nightly", scores, "PFPPFPPFPP")
    model = load_history([tmp_path / "nightly"])
    q95 = model.tests["t.py::scored"].metrics["score"].q95
    assert model.tests["t.py::live"].label == "flaky" and 0.05 < q95 < 0.12
    base, head = _pair(0.54, 0.49)  # crosses min 0.5 by a nightly-sized step; the live test flips
    without = _diff(base, head, None)
    assert _kinds(without.regressions) == [("metric-threshold", "t.py::scored")]
    assert _kinds(without.unconfirmed) == [("flip", "t.py::live")]
    result = _diff(base, head, tmp_path / "nightly")
    assert result.regressions == [] and result.unconfirmed == []
    details = {f.subject: f.detail for f in result.noise if f.kind == "nightly-noise"}
    assert details["t.py::scored"].startswith(
        f"metric below threshold within nightly noise: score 0.05 ≤ q95 ±{q95:.4g}")
    assert details["t.py::live"].startswith(
        "unconfirmed (one sample) within nightly noise: flaky, 6 flip(s) in 10 runs")
    big = _diff(*_pair(0.54, 0.2), tmp_path / "nightly")
    assert _kinds(big.regressions) == [("metric-threshold", "t.py::scored")]
    assert f"score beyond nightly noise (q95 ±{q95:.4g}" in big.regressions[0].detail
