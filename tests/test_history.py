"""`pytest-llmops history`: planted drift and planted flaky tests in seeded record series are found."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_llmops.cli import main
from pytest_llmops.review import history_synthetic as hs
from pytest_llmops.review.history import build_history
from pytest_llmops.review.history_changes import detect
from pytest_llmops.review.history_flaky import dispersion_pvalue, level_shifts
from pytest_llmops.review.history_noise import observed_noise

DRIFT_TRENDS = ("pass_rate", "cost_usd", "tokens", "golden:goldens/support.jsonl:similarity",
                "golden:goldens/support.jsonl:pass rate")


@pytest.fixture(scope="module", params=[0, 1, 2], ids=lambda s: f"seed{s}")
def planted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    seed = request.param
    records, truth = hs.series(runs=48, tests=60, seed=seed, drift_at=20 + seed * 3, latency_at=36 - seed)
    directory = tmp_path_factory.mktemp(f"series{seed}")
    hs.write_series(directory, records, seed=seed)
    (directory / "notes.json").write_text('{"kind": "something else"}')  # not a record: skipped in a directory
    return directory, records, truth


def test_drift_is_found_within_one_run_and_nothing_else(planted) -> None:
    directory, records, truth = planted
    history = build_history([directory])
    assert len(history.runs) == truth.runs
    assert [r.started_at for r in history.runs] == [r["run"]["started_at"] for r in records]  # time order
    for key in DRIFT_TRENDS:
        points = history.trend(key).change_points
        assert len(points) == 1 and abs(points[0].index - truth.drift_at) <= 1, (key, points)
        assert history.runs[points[0].index].commit == records[points[0].index]["run"]["git"]["commit"]
    latency = history.trend("p95_latency_s").change_points
    assert len(latency) == 1 and abs(latency[0].index - truth.latency_at) <= 1
    assert latency[0].after / latency[0].before == pytest.approx(2.0, rel=0.2)
    assert history.trend("golden:goldens/support.jsonl:length").change_points == []  # no drift planted there
    assert any("notes.json" in n for n in history.notes)


def test_planted_flaky_tests_are_flagged_and_no_stable_test_is(planted) -> None:
    directory, _, truth = planted
    history = build_history([directory])
    labels = {t.nodeid: t.label for t in history.tests}
    assert {t.nodeid for t in history.flaky} == truth.flaky
    assert all(labels[n] == "stable" for n in truth.stable)
    assert all(labels[n] == "changed" for n in truth.shifted)  # a regression, not flakiness
    assert all(labels[n] in ("borderline", "stable") for n in truth.borderline)
    for t in history.tests:
        if t.nodeid in truth.flaky:
            lo, hi = t.unexplained_interval
            assert 0 < lo <= t.flip_rate <= hi
        if t.nodeid in truth.shifted:
            assert t.flips == 1 and [abs(i - truth.drift_at) <= 1 for i in t.shifts] == [True]
    assert history.tests[0].flaky  # flaky tests come first


def test_json_output_has_the_same_figures(planted, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory, _, truth = planted
    out = tmp_path / "history.json"
    assert main(["history", str(directory), "--format", "json", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    history = build_history([directory])
    assert data["kind"] == "pytest-llmops-history" and data["summary"]["runs"] == truth.runs
    assert set(data["flaky"]) == truth.flaky
    trends = {t["key"]: t for t in data["trends"]}
    for key in DRIFT_TRENDS:
        (point,) = trends[key]["change_points"]
        assert point["index"] == history.trend(key).change_points[0].index
        assert point["commit"] == history.runs[point["index"]].commit and point["run"].endswith(".json")
    tests = {t["nodeid"]: t for t in data["tests"]}
    some_flaky = sorted(truth.flaky)[0]
    assert tests[some_flaky]["label"] == "flaky" and len(tests[some_flaky]["strip"]) == truth.runs
    assert data["runs"][0]["pass_rate"] == pytest.approx(history.runs[0].pass_rate)
    assert "4 flaky" in capsys.readouterr().err


def test_html_report_shows_the_figures(planted, tmp_path: Path) -> None:
    directory, _, truth = planted
    out = tmp_path / "history.html"
    assert main(["history", str(directory), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html) and html.count("plotly.js v") >= 1
    for div in ("fig-strip", "fig-pass-rate", "fig-cost", "fig-tokens", "fig-latency"):
        assert f'id="{div}"' in html
    assert "4 flaky test(s)" in html and all(n in html for n in truth.flaky)
    history = build_history([directory])
    drift = history.runs[history.trend("cost_usd").change_points[0].index]
    assert drift.commit[:10] in html  # where the change started


def test_noise_model_leaves_out_the_planted_steps(planted) -> None:
    directory, _, truth = planted
    noise = observed_noise([directory])
    similarity = noise.golden[("goldens/support.jsonl", "similarity")]
    # per-run mean of ~27 cases with sd 0.03: run-to-run sd ≈ 0.03·√(2/27) ≈ 0.008; the 0.1 drop is not in it
    assert similarity.n == truth.runs - 2 and similarity.q95 < 0.03
    assert noise.run["cost_usd"].q95 < 0.1  # relative: the 1.5x step (ln 1.5 = 0.41) is left out
    cases = noise.golden_cases[("goldens/support.jsonl", "similarity")]  # one case: sd 0.03 per run, √2 per change
    golden_cases = [n for n in noise.tests if "test_rag" in n]
    assert 0.9 * len(golden_cases) * (truth.runs - 2) <= cases.n <= len(golden_cases) * (truth.runs - 2)
    assert cases.sd == pytest.approx(0.03 * 2 ** 0.5, rel=0.15) and cases.q95 == pytest.approx(0.083, rel=0.2)
    one = noise.tests[golden_cases[0]].metrics["similarity"]
    assert one.n >= truth.runs - 4 and one.sd == pytest.approx(0.042, rel=0.4)
    flaky = sorted(truth.flaky)[0]
    assert noise.tests[flaky].label == "flaky" and noise.tests[flaky].flip_rate > 0.1
    stable = sorted(truth.stable)[0]
    assert noise.tests[stable].flip_rate == 0 and noise.tests[stable].fail_rate in (0.0, 1.0)
    sampled = next(n for n in truth.flaky if "tone" in n)
    assert noise.tests[sampled].sampled_rate is not None and noise.tests[sampled].sampled_rate.sd > 0.1


def test_level_shifts_and_dispersion() -> None:
    assert level_shifts([True] * 5 + [False] * 5) == [5]
    assert level_shifts([True, True, False, True, True, True]) == []  # a blip is no shift
    assert dispersion_pvalue([(19, 20), (9, 20)] * 10) < 1e-6
    assert dispersion_pvalue([(16, 20), (17, 20), (15, 20), (16, 20)]) > 0.5
    assert detect([1.0] * 30) == []
    (point,) = detect([1.0] * 15 + [2.0] * 15)
    assert point.index == 15 and point.before == 1.0 and point.after == 2.0


def test_bad_input_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "pytest-llmops-run", "schema_version": 1, "run": {}, "tests": [')
    assert main(["history", str(bad), "--format", "json"]) == 2
    assert "bad.json:1:" in capsys.readouterr().err
    assert main(["history", str(tmp_path / "missing"), "--format", "json"]) == 2
    assert main(["history", str(tmp_path), "--format", "html"]) == 2  # html needs -o
    assert "-o PATH" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


def _chromium(url: str, user_data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={user_data}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *extra, url],
        capture_output=True, text=True, timeout=180, check=False,
    )


@needs_chromium
def test_history_html_renders_in_headless_chromium(planted, tmp_path: Path) -> None:
    directory, _, truth = planted
    out = tmp_path / "history.html"
    assert main(["history", str(directory), "-o", str(out)]) == 0
    run = _chromium(out.as_uri(), tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]
    assert errors == [], run.stderr[-2000:]
    dom = run.stdout
    assert dom.count('class="main-svg"') >= 5  # plotly drew the strip and the trends (only after its JS ran)
    assert "4 flaky test(s)" in dom and all(n in dom for n in truth.flaky)
    history = build_history([directory])
    point = history.trend("golden:goldens/support.jsonl:similarity").change_points[0]
    assert f"run {point.index} · {history.runs[point.index].commit[:10]}" in dom  # the change point's annotation


def test_the_example_suites_committed_nights_show_the_prompt_change_and_its_rollback(tmp_path: Path) -> None:
    """Fifteen real runs of the example suite's answer tests (v1, then v2 for nights 6-10, then v1 again)."""
    nights = Path(__file__).resolve().parent.parent / "example_suite" / "history"
    history = build_history([nights])
    assert len(history.runs) == 15
    assert not [t.nodeid for t in history.tests if t.label == "flaky"]  # replayed answers do not flip by chance
    steps = {t.key: [c.index for c in t.change_points] for t in history.trends}
    similarity = "golden:example_suite/goldens/support.jsonl:similarity"
    assert steps[similarity] == [5, 10] and steps["tokens"] == [5, 10]  # the first v2 night, the first v1 again
    before, after = (c.after for c in next(t for t in history.trends if t.key == similarity).change_points)
    assert after > before  # quality fell with v2 and came back with the rollback
