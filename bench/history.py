"""Benchmark: ``pytest-llmops history`` over 1,000 run records of a 200-test suite.

    PYTHONPATH=. python bench/history.py [--runs 1000] [--tests 200] [--seed 1] [--keep DIR]

Generates a seeded series (``review.history_synthetic``: calls, metrics, a golden set, sampled tests, planted
drift and flaky tests), writes one JSON file per run, then times, in this process:

* reading + analysing (``build_history``: load every record, flip rates, change points) -- goal <= 10 s;
* the whole command (``pytest-llmops history DIR -o history.html``: also the plotly HTML) and the JSON output.

It also prints whether the planted change points and flaky tests were found (a benchmark that measured the
wrong thing fast would be no use).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit_result  # noqa: E402

from pytest_llmops.cli import main as cli_main  # noqa: E402
from pytest_llmops.review import history_synthetic as hs  # noqa: E402
from pytest_llmops.review.history import build_history  # noqa: E402

GOAL_S = 10.0


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    value = fn(*args)
    _timed.cpu = time.process_time() - c0  # type: ignore[attr-defined]
    return value, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", default=None, metavar="DIR", help="write the records here and keep them")
    args = parser.parse_args()

    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="llmops-history-"))
    try:
        t0 = time.perf_counter()
        records, truth = hs.series(runs=args.runs, tests=args.tests, seed=args.seed)
        hs.write_series(directory, records, seed=args.seed)
        del records
        size = sum(p.stat().st_size for p in directory.glob("*.json")) / 1e6
        print(f"generated {args.runs} records x {args.tests} tests ({size:.0f} MB) in {time.perf_counter() - t0:.1f}s")

        history, read_s = _timed(build_history, [directory])
        read_cpu = _timed.cpu  # type: ignore[attr-defined]
        out = directory / "history.html"
        with contextlib.redirect_stderr(io.StringIO()):
            code, html_s = _timed(cli_main, ["history", str(directory), "-o", str(out)])
            code_json, json_s = _timed(cli_main, ["history", str(directory), "--format", "json", "-o",
                                                  str(directory / "history.json")])
        assert code == 0 and code_json == 0
        found = {k: [c.index for c in history.trend(k).change_points]
                 for k in ("pass_rate", "cost_usd", "p95_latency_s")}
        flaky_ok = {t.nodeid for t in history.flaky} == truth.flaky
        print(f"read + analyse: {read_s:.2f}s wall, {read_cpu:.2f}s CPU of this process; "
              f"whole command with HTML ({out.stat().st_size / 1e6:.1f} MB): "
              f"{html_s:.2f}s; JSON: {json_s:.2f}s")
        print(f"planted drift at run {truth.drift_at}, latency at {truth.latency_at}; found {found}; "
              f"flaky tests found exactly: {flaky_ok}")
        label = f"{args.runs} records x {args.tests} tests"
        emit_result("history", f"read + analyse {label}", round(read_s, 2), unit="s", goal=f"<= {GOAL_S:g}",
                    met=read_s <= GOAL_S)
        emit_result("history", f"read + analyse {label}, CPU time", round(read_cpu, 2), unit="s",
                    note="this process only; the wall time above also pays for other load on the machine")
        emit_result("history", f"history -o history.html, {label}", round(html_s, 2), unit="s",
                    goal=f"<= {GOAL_S:g}", met=html_s <= GOAL_S)
        emit_result("history", "planted change points and flaky tests found", bool(flaky_ok and all(
            any(abs(i - (truth.latency_at if k == "p95_latency_s" else truth.drift_at)) <= 1 for i in v)
            for k, v in found.items())), goal="true", met=None)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
