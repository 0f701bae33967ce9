"""Idle overhead: what having pytest-llmops installed costs a suite that uses none of its features.

Generates 500 trivial tests in a temporary directory and runs them as subprocesses
(``python -m pytest -q -p no:cacheprovider``), alternating round by round between

* ``-p no:llmops``                 the plugin blocked (it is not even imported),
* plugin installed, unused         the default for anyone who has the package installed,
* ``--llmops-report=PATH``         plugin active, writing the JSON run record.

Medians of ``--rounds`` rounds (after one untimed warm-up round) and their ratios to the blocked run are
printed.  Goal: installed-but-unused <= 1.05 x blocked.

``--with-deepeval`` times the same suite in a separate virtualenv (``/work/bench-venvs/deepeval``, created on
first use with ``pip install deepeval pytest``) with DeepEval's pytest11 plugin loaded vs blocked by its
entry-point name (read from the distribution's metadata).  Only the ratio is comparable: the absolute times
come from a different virtualenv with different plugins.  DeepEval's telemetry is switched off
(``DEEPEVAL_TELEMETRY_OPT_OUT=YES``) so no network attempt is timed.

``--instructions`` also counts the instructions of one disabled and one installed-but-unused run under
valgrind (cachegrind without cache simulation): the same count on a busy machine as on a quiet one.

    PYTHONPATH=. /work/venv/bin/python bench/idle_overhead.py [--tests 500] [--rounds 7] [--instructions]
        [--with-deepeval]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BenchError,
    Timing,
    alternate,
    clean_env,
    emit_result,
    ensure_venv,
    load_average,
    median_cpu,
    median_wall,
)

GOAL = 1.05
BENCH = "idle_overhead"
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
DEEPEVAL_ENV = {"DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "DEEPEVAL_UPDATE_WARNING_OPT_IN": "NO",
                "DEEPEVAL_GRPC_LOGGING": "NO", "ERROR_REPORTING": "NO"}


def write_suite(root: Path, n_tests: int, per_file: int = 50) -> None:
    """``n_tests`` trivial test functions in files of ``per_file``; an empty pytest.ini pins the rootdir so no
    configuration from the directories above is picked up."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    for start in range(0, n_tests, per_file):
        body = "".join(f"def test_trivial_{i}():\n    assert {i} + 1 == {i + 1}\n\n\n"
                       for i in range(start, min(start + per_file, n_tests)))
        (root / f"test_trivial_{start // per_file:03d}.py").write_text(body, encoding="utf-8")


@dataclass(frozen=True)
class Row:
    name: str
    wall: float
    wall_ratio: float
    cpu: float
    cpu_ratio: float
    wall_min: float
    wall_max: float


def summarize(times: dict[str, list[Timing]]) -> list[Row]:
    """Medians per configuration and their ratios to the first configuration (the blocked plugin)."""
    names = list(times)
    wall0, cpu0 = median_wall(times[names[0]]), median_cpu(times[names[0]])
    return [Row(n, median_wall(times[n]), median_wall(times[n]) / wall0, median_cpu(times[n]),
                median_cpu(times[n]) / cpu0, min(t.wall for t in times[n]), max(t.wall for t in times[n]))
            for n in names]


def print_table(title: str, rows: list[Row]) -> None:
    print(title)
    print(f"  {'configuration':<42}{'median s':>10}{'min-max s':>14}{'ratio vs disabled':>19}{'median CPU s':>14}"
          f"{'CPU ratio':>11}")
    for r in rows:
        spread = f"{r.wall_min:.2f}-{r.wall_max:.2f}"
        print(f"  {r.name:<42}{r.wall:>10.3f}{spread:>14}{r.wall_ratio:>19.3f}{r.cpu:>14.3f}{r.cpu_ratio:>11.3f}")


def medians(rows: list[Row]) -> dict[str, dict[str, float]]:
    return {r.name: {"wall_s": round(r.wall, 3), "cpu_s": round(r.cpu, 3)} for r in rows}


def measure_llmops(suite: Path, rounds: int, report: Path) -> dict[str, list[Timing]]:
    py = sys.executable
    commands = {
        "disabled (-p no:llmops)": [py, *PYTEST, "-p", "no:llmops"],
        "llmops installed, unused": [py, *PYTEST],
        "llmops writing --llmops-report": [py, *PYTEST, f"--llmops-report={report}"],
    }
    times = alternate(commands, rounds, cwd=suite, env=clean_env(), warmup=1)
    if not report.exists():
        raise BenchError(f"--llmops-report did not write {report}: is the llmops plugin installed in {py}?")
    n = len(json.loads(report.read_text(encoding="utf-8")).get("tests", []))
    print(f"(sanity: the report run recorded {n} tests)")
    return times


def count_instructions(suite: Path, extra: list[str]) -> int:
    """Instructions one run executes (valgrind's cachegrind, no cache simulation): the same on a busy machine
    as on a quiet one, where wall and CPU time are not."""
    out = Path(tempfile.mkdtemp(prefix="llmops-bench-cg-")) / "cachegrind.out"
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
                           sys.executable, *PYTEST, *extra], cwd=suite, env=clean_env(), capture_output=True,
                          text=True, timeout=1800)
    shutil.rmtree(out.parent, ignore_errors=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if found is None:
        raise BenchError(f"valgrind printed no instruction count:\n{proc.stderr[-1000:]}")
    return int(found.group(1).replace(",", ""))


def measure_instructions(suite: Path) -> tuple[int, int]:
    """(disabled, installed-unused) instruction counts, after one untimed run that writes the bytecode caches."""
    if shutil.which("valgrind") is None:
        raise BenchError("--instructions needs valgrind on PATH (apt-get install valgrind)")
    subprocess.run([sys.executable, *PYTEST], cwd=suite, env=clean_env(), capture_output=True, timeout=600)
    return count_instructions(suite, ["-p", "no:llmops"]), count_instructions(suite, [])


def deepeval_plugins(python: Path) -> dict[str, str]:
    """DeepEval's pytest11 entry points, name -> module, read from its distribution metadata."""
    code = ("import importlib.metadata as m, json; d = m.distribution('deepeval'); "
            "print(json.dumps({ep.name: ep.value.split(':')[0] for ep in d.entry_points if ep.group == 'pytest11'}))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=clean_env(), check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loaded_plugins(python: Path, suite: Path, extra: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([str(python), *PYTEST, "--trace-config", "--co", *extra], cwd=suite, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc.stdout


def measure_deepeval(suite: Path, rounds: int) -> tuple[dict[str, list[Timing]], str, str]:
    """Returns (times, plugin entry-point name, deepeval version)."""
    python = ensure_venv("deepeval", ["deepeval", "pytest"], marker_import="deepeval",
                         log=Path(tempfile.gettempdir()) / "llmops-bench-deepeval-install.log")
    plugins = deepeval_plugins(python)
    names = list(plugins)
    if not names:
        raise BenchError("the deepeval distribution declares no pytest11 entry point")
    version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('deepeval'))"],
                             capture_output=True, text=True, env=clean_env(), check=True).stdout.strip()
    env = clean_env(DEEPEVAL_ENV)
    block = [arg for name in names for arg in ("-p", f"no:{name}")]
    on, off = loaded_plugins(python, suite, [], env), loaded_plugins(python, suite, block, env)
    markers = [f"<module '{module}'" for module in plugins.values()]  # --trace-config's "PLUGIN registered"
    if not all(m in on for m in markers) or any(m in off for m in markers):
        raise BenchError(f"could not confirm that -p no:{names} toggles DeepEval's plugin (--trace-config)")
    commands = {
        f"deepeval blocked ({' '.join(block)})": [str(python), *PYTEST, *block],
        "deepeval installed, plugin loaded": [str(python), *PYTEST],
    }
    return alternate(commands, rounds, cwd=suite, env=env, warmup=1), ",".join(names), version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (alternating), default 7")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the instructions of one disabled and one unused run under valgrind (slow: "
                             "about a minute per run, but independent of the machine's load)")
    parser.add_argument("--with-deepeval", action="store_true",
                        help="also time DeepEval's plugin in /work/bench-venvs/deepeval (installed on first use)")
    args = parser.parse_args(argv)

    print(f"{args.tests} trivial tests, {args.rounds} alternating rounds after 1 warm-up, medians; "
          f"python -m pytest -q -p no:cacheprovider; 1-min load {load_average()}")
    tmp = Path(tempfile.mkdtemp(prefix="llmops-bench-idle-"))
    try:
        suite = tmp / "suite"
        write_suite(suite, args.tests)
        times = measure_llmops(suite, args.rounds, tmp / "report.json")
        rows = summarize(times)
        print_table("pytest-llmops (this venv):", rows)
        _, idle, report = rows
        emit_result(BENCH, "idle: llmops installed, unused / -p no:llmops (wall)", round(idle.wall_ratio, 3),
                    unit="x", goal=f"<= {GOAL}", met=idle.wall_ratio <= GOAL, medians=medians(rows),
                    note=f"medians {rows[0].wall:.2f} s / {idle.wall:.2f} s")
        emit_result(BENCH, "idle: llmops installed, unused / -p no:llmops (CPU)", round(idle.cpu_ratio, 3),
                    unit="x", goal=f"<= {GOAL}", met=idle.cpu_ratio <= GOAL,
                    note=f"medians {rows[0].cpu:.2f} s / {idle.cpu:.2f} s CPU; steadier than wall under load")
        emit_result(BENCH, "with --llmops-report / -p no:llmops", round(report.wall_ratio, 3), unit="x",
                    cpu_ratio=round(report.cpu_ratio, 3), note=f"CPU-time ratio {report.cpu_ratio:.3f}x")
        if args.instructions:
            disabled, unused = measure_instructions(suite)
            ratio = unused / disabled
            print(f"instructions (valgrind): disabled {disabled:,}, installed unused {unused:,}: {ratio:.3f}x")
            emit_result(BENCH, "idle: llmops installed, unused / -p no:llmops (instructions)", round(ratio, 3),
                        unit="x", goal=f"<= {GOAL}", met=ratio <= GOAL,
                        note=f"{disabled:,} / {unused:,} instructions (valgrind cachegrind), load-independent")

        if args.with_deepeval:
            try:
                de_times, plugin, version = measure_deepeval(suite, args.rounds)
            except (BenchError, subprocess.SubprocessError, OSError) as exc:
                reason = str(exc).strip().splitlines()[0][:200]
                print(f"DeepEval comparison unavailable: {exc}")
                emit_result(BENCH, "DeepEval plugin loaded / blocked", None, unit="x", note=f"unavailable: {reason}")
            else:
                de_rows = summarize(de_times)
                print_table(f"DeepEval {version} (separate venv, entry point {plugin!r}):", de_rows)
                loaded = de_rows[1]
                emit_result(BENCH, f"DeepEval {version} plugin loaded / -p no:{plugin}", round(loaded.wall_ratio, 3),
                            unit="x", cpu_ratio=round(loaded.cpu_ratio, 3), medians=medians(de_rows),
                            note=f"CPU-time ratio {loaded.cpu_ratio:.3f}x; separate venv: compare ratios, not seconds")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
