"""Run every benchmark under ``bench/`` (one subprocess each, one after the other, each with a time limit) and
print one table: benchmark, figure, value, goal, met?  -- with the machine it ran on.

Each benchmark prints ``BENCH_RESULT {json}`` lines (see ``bench/_common.py``); those are what the table shows.
A benchmark that is missing, times out or fails gets a row that says so.

    PYTHONPATH=. /work/venv/bin/python bench/run_all.py [--quick] [--write] [--only NAME,...] [--no-deepeval]

``--quick``  fewer repetitions everywhere (the whole run fits in < 10 minutes on the 2-core machine).
``--write``  also write the table, the machine info and every benchmark's own output to ``bench/results.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, RESULT_PREFIX, clean_env, load_average, machine_info, parse_results  # noqa: E402

BENCH_DIR = REPO / "bench"
RESULTS_MD = BENCH_DIR / "results.md"


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    timeout_s: float = 300
    what: str = ""


BENCHMARKS = (
    Benchmark("idle_overhead", "idle_overhead.py", ("--rounds", "7"), ("--rounds", "3"), 1800,
              "500 trivial tests: plugin installed vs -p no:llmops (and DeepEval's plugin, separate venv)"),
    Benchmark("scaling", "scaling.py", ("--rounds", "3"), ("--rounds", "2", "--warmup", "0"), 1200,
              "example suite in replay mode, -n 1 vs -n 2, wall time and peak RSS"),
    Benchmark("replay", "replay.py", (), ("--calls", "100"), 300,
              "replayed CallEngine.complete() vs litellm mock_response"),
    Benchmark("concurrency", "concurrency.py", (), ("--rounds", "2"), 300,
              "20 concurrent live calls vs 1 at 300 ms loopback latency"),
    Benchmark("early_stop", "early_stop.py", (), ("--runs", "2000"), 300,
              "sampled tests: samples saved by early stopping, verdict agreement"),
    Benchmark("similarity", "similarity.py", (), ("--pairs", "200", "--repeat", "1"), 600,
              "all-MiniLM-L6-v2 cold vs cached vs lexical throughput"),
    Benchmark("diff", "diff.py", (), (), 300,
              "load + diff + markdown of two 20,000-test run records"),
    Benchmark("history", "history.py", (), ("--runs", "300"), 900,
              "pytest-llmops history over 1,000 run records of a 200-test suite (read, analyse, HTML)"),
    Benchmark("verdict_trust", "verdict_trust.py", (), ("--diffs", "300", "--check", "5"), 300,
              "run-level false alarms, FDR and power of the diff's verdicts on simulated suites with known truth"),
    Benchmark("trace_import", "trace_import.py", (), ("--conversations", "500"), 300,
              "goldens import of 2,000 GenAI-span conversations: redaction, near-duplicate merging, recordings"),
    Benchmark("plan_accuracy", "plan_accuracy.py", (), ("--only", "test_triage.py"), 3600,
              "--llmops-plan's estimate vs the spend of a live SmolLM2 run of the example suite (no recordings)"),
)

# Benchmarks that print no BENCH_RESULT line yet: the figure is read from their human-readable output.
FALLBACK_PATTERNS: dict[str, list[tuple[str, str, str, str, float | None]]] = {
    # name: [(regex with one number group, figure, unit, goal text, goal upper bound)]
    "diff": [(r"load\+diff\+markdown:\s*([\d.]+)s wall", "load + diff + markdown, 2 x 20,000 tests", "s", "<= 2",
              2.0)],
}


@dataclass
class Outcome:
    bench: Benchmark
    status: str  # "ok", "missing", "timeout", "failed"
    seconds: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    detail: str = ""


def fallback_results(name: str, text: str) -> list[dict[str, Any]]:
    results = []
    for pattern, figure, unit, goal, bound in FALLBACK_PATTERNS.get(name, []):
        match = re.search(pattern, text)
        if match:
            value = float(match.group(1))
            results.append({"benchmark": name, "figure": figure, "value": value, "unit": unit, "goal": goal,
                            "met": None if bound is None else value <= bound, "note": "parsed from text output"})
    return results


def run_one(bench: Benchmark, *, quick: bool, extra: list[str], tmp_root: Path) -> Outcome:
    script = BENCH_DIR / bench.script
    if not script.exists():
        return Outcome(bench, "missing", detail=f"bench/{bench.script} not found")
    args = [*(bench.quick_args if quick else bench.args), *extra]
    tmp = tmp_root / bench.name
    tmp.mkdir(parents=True, exist_ok=True)
    env = clean_env({"PYTHONPATH": str(REPO), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"})
    cmd = [sys.executable, str(script), *args]
    print(f"==> {bench.name}: {' '.join(cmd[1:])}  (limit {bench.timeout_s:.0f} s)", flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=bench.timeout_s)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Outcome(bench, "timeout", time.perf_counter() - t0, parse_results(out), out,
                       f"timed out after {bench.timeout_s:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # benchmarks that keep their temp files do not pile up
    seconds = time.perf_counter() - t0
    results = parse_results(proc.stdout) or fallback_results(bench.name, proc.stdout)
    output = proc.stdout + (f"\n[stderr]\n{proc.stderr[-2500:]}" if proc.returncode != 0 else "")
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1][:200]
        return Outcome(bench, "failed", seconds, results, output, f"exit {proc.returncode}: {last}")
    if not results:
        return Outcome(bench, "failed", seconds, [], output, "printed no BENCH_RESULT line")
    return Outcome(bench, "ok", seconds, results, output)


def fmt_value(result: dict[str, Any]) -> str:
    value, unit = result.get("value"), result.get("unit") or ""
    if value is None:
        return "unavailable"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {unit}".strip() if unit not in ("", "x") else f"{value}{unit}"


def fmt_met(met: Any) -> str:
    return {True: "yes", False: "NO"}.get(met, "-")


def table_rows(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for o in outcomes:
        for r in o.results:
            note = r.get("note") or ""
            rows.append([o.bench.name, str(r.get("figure", "")), fmt_value(r), str(r.get("goal") or "-"),
                         fmt_met(r.get("met")), f"{o.seconds:.0f}", note])
        if o.status != "ok":
            rows.append([o.bench.name, o.status, "-", "-", "n/a", f"{o.seconds:.0f}", o.detail])
    return rows


HEADER = ["benchmark", "figure", "value", "goal", "met?", "run s", "note"]


def render_text(rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]
    widths[-1] = min(widths[-1], 60)
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*HEADER), line.format(*("-" * w for w in widths))]
    out += [line.format(*(c if len(c) <= widths[i] else c[:widths[i] - 1] + "~" for i, c in enumerate(r)))
            for r in rows]
    return "\n".join(out)


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[list[str]], info: dict[str, Any], outcomes: list[Outcome], *, quick: bool,
                    started: dt.datetime, total_s: float, load_end: float | None) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `python bench/run_all.py{' --quick' if quick else ''} --write` on "
        f"{started:%Y-%m-%d %H:%M} UTC in {total_s:.0f} s. Figures are medians or ratios measured within one run "
        "on a shared machine; see `bench/README.md` for what each one measures.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
        *("| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {md_cell(str(v))} |" for k, v in info.items()),
        f"| load_avg_1m at end | {load_end} |",
        "",
        "## Output of each benchmark",
        "",
    ]
    for o in outcomes:
        body = "\n".join(ln for ln in o.output.splitlines() if not ln.startswith(RESULT_PREFIX)).strip()
        lines += [f"<details><summary>{o.bench.name} ({o.status}, {o.seconds:.0f} s): {o.bench.what}</summary>", "",
                  "```", body or o.detail or "(no output)", "```", "", "</details>", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (whole run < 10 minutes)")
    parser.add_argument("--write", action="store_true", help=f"write the table to {RESULTS_MD.relative_to(REPO)}")
    parser.add_argument("--only", default="", help="comma-separated benchmark names to run (default: all)")
    parser.add_argument("--no-deepeval", action="store_true",
                        help="skip the DeepEval comparison (it needs a separate virtualenv, installed on first use)")
    args = parser.parse_args(argv)
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = only - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {[b.name for b in BENCHMARKS]}")

    started = dt.datetime.now(dt.timezone.utc)
    info = machine_info()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    t0 = time.perf_counter()
    outcomes = []
    tmp_root = Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    try:
        for bench in BENCHMARKS:
            if only and bench.name not in only:
                continue
            extra = ["--with-deepeval"] if bench.name == "idle_overhead" and not args.no_deepeval else []
            outcome = run_one(bench, quick=args.quick, extra=extra, tmp_root=tmp_root)
            print(f"    {outcome.status} in {outcome.seconds:.0f} s"
                  + (f": {outcome.detail}" if outcome.detail else ""), flush=True)
            outcomes.append(outcome)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    total = time.perf_counter() - t0
    load_end = load_average()
    rows = table_rows(outcomes)
    print()
    print(render_text(rows))
    print(f"\n{len(outcomes)} benchmarks in {total:.0f} s{' (--quick)' if args.quick else ''}; "
          f"1-min load {info['load_avg_1m']} at start, {load_end} at end; {info['cpu']}, {info['cores']} cores; "
          f"python {info['python']}, pytest {info['pytest']}, litellm {info['litellm']}, torch {info['torch']}")
    if args.write:
        RESULTS_MD.write_text(render_markdown(rows, info, outcomes, quick=args.quick, started=started,
                                              total_s=total, load_end=load_end) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS_MD.relative_to(REPO)}")
    failed = [o for o in outcomes if o.status in ("timeout", "failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
