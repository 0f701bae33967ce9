"""The benchmark harness (bench/_common.py, bench/run_all.py, bench/idle_overhead.py, bench/scaling.py):
result protocol, table rows for missing/failed/timed-out scripts, the generated suite, peak-memory sampling.
No timing assertions."""

from __future__ import annotations

import ast
import datetime as dt
import json
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
import idle_overhead  # noqa: E402
import run_all  # noqa: E402
import scaling  # noqa: E402


def test_emit_result_round_trips_through_parse_results(capsys: pytest.CaptureFixture[str]) -> None:
    _common.emit_result("b", "ratio", 1.02, unit="x", goal="<= 1.05", met=True, medians={"a": 1.0})
    print("human text BENCH_RESULT not at line start")
    print("BENCH_RESULT {not json")
    _common.emit_result("b", "other", None, note="unavailable: no venv")
    parsed = _common.parse_results(capsys.readouterr().out)
    assert [r["figure"] for r in parsed] == ["ratio", "other"]
    assert parsed[0]["value"] == 1.02 and parsed[0]["met"] is True and parsed[0]["medians"] == {"a": 1.0}
    assert parsed[1]["value"] is None and parsed[1]["met"] is None


def test_fallback_reads_the_diff_figure_and_judges_the_goal() -> None:
    text = "load 1.0s\nload+diff+markdown: 2.412s wall, 1.9s CPU (target <= 2 s)\n"
    [result] = run_all.fallback_results("diff", text)
    assert result["value"] == 2.412 and result["met"] is False
    [fast] = run_all.fallback_results("diff", text.replace("2.412", "1.5"))
    assert fast["met"] is True
    assert run_all.fallback_results("diff", "nothing here") == []
    assert run_all.fallback_results("replay", text) == []


def _script(directory: Path, name: str, body: str) -> None:
    (directory / name).write_text(textwrap.dedent(body), encoding="utf-8")


def test_run_one_reports_ok_missing_failed_and_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    line = json.dumps({"benchmark": "good", "figure": "speed", "value": 3, "unit": "ms", "goal": "<= 5", "met": True})
    _script(tmp_path, "good.py", f"print('hello')\nprint('BENCH_RESULT ' + {line!r})\n")
    _script(tmp_path, "crash.py", "import sys\nprint('partial')\nsys.exit('boom: broken benchmark')\n")
    _script(tmp_path, "silent.py", "print('no result line')\n")
    _script(tmp_path, "slow.py", "import time\ntime.sleep(30)\n")
    work = tmp_path / "work"
    outcomes = {name: run_all.run_one(run_all.Benchmark(name, f"{name}.py", timeout_s=timeout), quick=False,
                                      extra=[], tmp_root=work)
                for name, timeout in [("good", 60), ("absent", 60), ("crash", 60), ("silent", 60), ("slow", 1)]}
    assert outcomes["good"].status == "ok" and outcomes["good"].results[0]["value"] == 3
    assert outcomes["absent"].status == "missing" and "absent.py" in outcomes["absent"].detail
    assert outcomes["crash"].status == "failed" and "boom: broken benchmark" in outcomes["crash"].detail
    assert outcomes["silent"].status == "failed" and "no BENCH_RESULT" in outcomes["silent"].detail
    assert outcomes["slow"].status == "timeout"

    rows = run_all.table_rows(list(outcomes.values()))
    by_name = {r[0]: r for r in rows}
    assert by_name["good"][1:5] == ["speed", "3 ms", "<= 5", "yes"]
    assert by_name["absent"][1] == "missing" and by_name["absent"][4] == "n/a"
    assert by_name["slow"][1] == "timeout"
    text = run_all.render_text(rows)
    assert text.splitlines()[0].split()[:5] == ["benchmark", "figure", "value", "goal", "met?"]
    md = run_all.render_markdown(rows, {"cpu": "test cpu", "cores": 2}, list(outcomes.values()), quick=True,
                                 started=dt.datetime(2025, 1, 1), total_s=3.0, load_end=0.5)
    assert "| good | speed | 3 ms | <= 5 | yes |" in md and "| cpu | test cpu |" in md
    assert "BENCH_RESULT {" not in md and "hello" in md  # the human output, without the result lines
    assert not work.exists() or not any(work.iterdir())  # per-benchmark temp dirs are removed


@pytest.mark.parametrize("n_tests", [500, 73])
def test_generated_suite_has_exactly_n_distinct_tests(tmp_path: Path, n_tests: int) -> None:
    idle_overhead.write_suite(tmp_path, n_tests)
    names = [node.name for f in sorted(tmp_path.glob("test_*.py"))
             for node in ast.parse(f.read_text()).body if isinstance(node, ast.FunctionDef)]
    assert len(names) == n_tests == len(set(names))
    assert (tmp_path / "pytest.ini").read_text().strip() == "[pytest]"


def test_scaling_sees_test_files_but_not_recordings(tmp_path: Path) -> None:
    assert not scaling.suite_ready(tmp_path / "nope")
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / "test_cassette.py").write_text("")
    assert not scaling.suite_ready(tmp_path)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text("")
    assert scaling.suite_ready(tmp_path)
    assert scaling.command(tmp_path, 2)[-2:] == ["-n", "2"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_tree_memory_counts_the_child_processes(tmp_path: Path) -> None:
    child = "import time; block = bytearray(60_000_000); block[::4096] = b'x' * len(block[::4096]); time.sleep(0.4)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    timing, code, memory, _ = _common.run_with_tree_memory([sys.executable, "-c", parent], timeout=60)
    assert code == 0
    assert timing.cpu > 0  # the waited-for grandchild's CPU is accounted
    assert memory.processes >= 2
    assert memory.max_peak_kb >= 55_000  # the child touched 60 MB
    assert memory.sum_peak_kb > memory.max_peak_kb


def test_machine_info_names_the_versions_the_table_needs() -> None:
    info = _common.machine_info()
    for key in ("cpu", "cores", "load_avg_1m", "python", "pytest", "litellm", "torch"):
        assert key in info
    assert info["pytest"] == pytest.__version__


def test_summarize_takes_medians_and_ratios_to_the_first_configuration() -> None:
    T = _common.Timing
    rows = idle_overhead.summarize({
        "off": [T(1.0, 0.5), T(9.0, 0.4), T(2.0, 0.6)],
        "on": [T(3.0, 1.0), T(3.0, 1.2), T(1.0, 0.1)],
    })
    assert [r.name for r in rows] == ["off", "on"]
    assert (rows[0].wall, rows[0].wall_ratio, rows[0].cpu, rows[0].cpu_ratio) == (2.0, 1.0, 0.5, 1.0)
    assert (rows[1].wall, rows[1].wall_ratio, rows[1].cpu, rows[1].cpu_ratio) == (3.0, 1.5, 1.0, 2.0)
    assert (rows[0].wall_min, rows[0].wall_max) == (1.0, 9.0)
