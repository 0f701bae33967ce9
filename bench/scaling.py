"""Scaling: the example suite in replay mode (``--llmops-record-mode=none``) at ``-n 1`` vs ``-n 2``.

Both configurations run as subprocesses from the repository root (``python -m pytest example_suite -q
-p no:cacheprovider --llmops-record-mode=none -n N``), alternating round by round after ``--warmup`` untimed
rounds; the medians of wall time are printed with their ratio.  Failing example tests do not stop the
benchmark (exit code 1 is accepted and noted); any other exit code does.

Peak memory: while each run goes, ``/proc/<pid>/status`` is read every 50 ms for the pytest process and all its
descendants (the xdist workers); the figure is the **sum over those processes of each one's own peak RSS
(VmHWM)**, i.e. an upper bound of the tree's simultaneous peak (controller + workers).  The largest single
process is printed too.  Linux only; no psutil needed.

If ``example_suite/`` has no test files yet, prints "example suite not ready" and exits 0.

    PYTHONPATH=. /work/venv/bin/python bench/scaling.py [--rounds 3] [--warmup 1] [--suite DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    BenchError,
    Timing,
    clean_env,
    emit_result,
    load_average,
    median,
    median_cpu,
    median_wall,
    run_with_tree_memory,
)

BENCH = "scaling"
SUITE = REPO / "example_suite"
WORKERS = (1, 2)


def suite_ready(suite: Path) -> bool:
    if not suite.is_dir():
        return False
    return any(p for pattern in ("test_*.py", "*_test.py") for p in suite.rglob(pattern)
               if "recordings" not in p.parts)


def command(suite: Path, workers: int) -> list[str]:
    target = str(suite.relative_to(REPO)) if suite.is_relative_to(REPO) else str(suite)
    return [sys.executable, "-m", "pytest", target, "-q", "-p", "no:cacheprovider",
            "--llmops-record-mode=none", "-n", str(workers)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (alternating), default 3")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for one pytest run")
    parser.add_argument("--suite", type=Path, default=SUITE, help="test directory (default: example_suite/)")
    args = parser.parse_args(argv)
    suite = args.suite.resolve()
    if not suite_ready(suite):
        print("example suite not ready (no test files under example_suite/)")
        emit_result(BENCH, "-n 2 / -n 1 wall time (replay)", None, unit="x", note="example suite not ready")
        return 0

    env = clean_env()
    print(f"{suite}, replay mode, -n 1 vs -n 2; {args.rounds} alternating rounds after {args.warmup} warm-up, medians; "
          f"1-min load {load_average()}")
    walls: dict[int, list[Timing]] = {n: [] for n in WORKERS}
    mem_sum: dict[int, list[int]] = {n: [] for n in WORKERS}
    mem_max: dict[int, list[int]] = {n: [] for n in WORKERS}
    procs: dict[int, int] = {}
    codes: set[int] = set()
    for r in range(1 - args.warmup, args.rounds + 1):  # rounds < 1 are warm-ups
        order = WORKERS if r % 2 == 0 else WORKERS[::-1]
        for n in order:
            timing, code, memory, tail = run_with_tree_memory(command(suite, n), cwd=REPO, env=env, timeout=args.timeout)
            if code not in (0, 1):
                raise BenchError(f"pytest -n {n} exited with {code}:\n{tail}")
            codes.add(code)
            if r < 1:
                print(f"  warm-up -n {n}: {timing.wall:.2f}s, exit {code}; last line: "
                      f"{tail.strip().splitlines()[-1] if tail.strip() else '-'}", file=sys.stderr)
                continue
            walls[n].append(timing)
            mem_sum[n].append(memory.sum_peak_kb)
            mem_max[n].append(memory.max_peak_kb)
            procs[n] = memory.processes
        if r >= 1:
            print(f"  round {r}/{args.rounds}: " + ", ".join(f"-n {n} {walls[n][-1].wall:.2f}s" for n in WORKERS),
                  file=sys.stderr, flush=True)
    if 1 in codes:
        print("NOTE: some example-suite tests failed in replay mode; the timings still count the whole run")

    med = {n: median_wall(walls[n]) for n in WORKERS}
    cpu = {n: median_cpu(walls[n]) for n in WORKERS}
    print(f"  {'configuration':<14}{'median s':>10}{'ratio vs -n 1':>15}{'median CPU s':>14}{'peak RSS sum MB':>17}"
          f"{'largest proc MB':>17}{'procs':>7}")
    for n in WORKERS:
        print(f"  {f'-n {n}':<14}{med[n]:>10.3f}{med[n] / med[1]:>15.3f}{cpu[n]:>14.3f}"
              f"{median(mem_sum[n]) / 1024:>17.0f}{median(mem_max[n]) / 1024:>17.0f}{procs[n]:>7}")
    ratio = med[2] / med[1]
    note = f"medians {med[1]:.1f} s / {med[2]:.1f} s; CPU {cpu[1]:.1f} s / {cpu[2]:.1f} s"
    emit_result(BENCH, "-n 2 / -n 1 wall time (replay)", round(ratio, 3), unit="x",
                medians_s={f"-n {n}": round(med[n], 3) for n in WORKERS},
                cpu_s={f"-n {n}": round(cpu[n], 3) for n in WORKERS},
                note=note + ("; some example tests failed" if 1 in codes else ""))
    emit_result(BENCH, "peak RSS sum -n 1 / -n 2 (MB)",
                f"{median(mem_sum[1]) / 1024:.0f} / {median(mem_sum[2]) / 1024:.0f}", unit="MB",
                note="sum of per-process VmHWM of pytest + xdist workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
