"""How good is ``pytest --llmops-plan``?  Its estimate before a live run against what the live run then spent.

The example suite is copied to a temporary directory without its recordings; ``--llmops-plan
--llmops-record-mode=once`` estimates the live run (nothing runs); then the same suite is recorded live against
SmolLM2-135M-Instruct served locally (pytest_llmops.testing.local_model, started by the example's conftest) and
the run record's spend is compared with the estimate: total error, whether the actual total lies inside the
plan's range, the share of tests whose actual cost lies inside their own range, and planned vs actual calls.
A second plan, ``--llmops-record-mode=all`` over the fresh recordings, shows the estimate once history exists.

    python bench/plan_accuracy.py                          # the whole example suite (~30 min of model time)
    python bench/plan_accuracy.py --only test_triage.py    # one module (~2 min of model time)
    python bench/plan_accuracy.py --keep-every 2           # half the recordings kept: new cases estimated from
                                                           # their recorded siblings
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, emit_result  # noqa: E402

PRICES = "openai/smollm2-135m = 0.10 0.20"  # the example suite's notional price (pyproject.toml)
TEST_LINE = re.compile(r"^  (\S+): replay (\d+), live (\d+)(?:, ~\$([\d.]+) \(\$([\d.]+)\.\.\$([\d.]+)\))?", re.M)
TOTAL = re.compile(r"llmops plan total: (\d+) tests, (\d+) calls replayed, (\d+) live, estimated \$([\d.]+) "
                   r"± \$([\d.]+) \(range \$([\d.]+)\.\.\$([\d.]+)\)")


def pytest(cwd: Path, *args: str) -> str:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
                          cwd=cwd, env=env, capture_output=True, text=True)
    return done.stdout + done.stderr


def copy_suite(where: Path, keep_every: int) -> Path:
    """The example suite without its recordings (``keep_every`` N > 0: keep every Nth recording file, sorted)."""
    suite = where / "example_suite"
    shutil.copytree(REPO / "example_suite", suite, ignore=shutil.ignore_patterns("recordings-v2", "__pycache__"))
    for index, path in enumerate(sorted((suite / "recordings").rglob("*.json"))):
        if keep_every <= 0 or index % keep_every:
            path.unlink()
    (where / "pytest.ini").write_text(f"[pytest]\nllmops_prices = {PRICES}\n", encoding="utf-8")
    return suite


def parse_plan(out: str) -> tuple[dict[str, tuple[int, float, float, float]], tuple[float, ...]]:
    total = TOTAL.search(out)
    if total is None:
        raise SystemExit(f"no plan total in the output:\n{out[-3000:]}")
    tests = {m[0]: (int(m[2]), float(m[3] or 0), float(m[4] or 0), float(m[5] or 0)) for m in TEST_LINE.findall(out)}
    return tests, tuple(float(g) for g in total.groups())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only this test module of the example suite")
    parser.add_argument("--keep-every", type=int, default=0,
                        help="keep every Nth recording (the plan estimates the others from their recorded siblings, "
                             "as for new golden cases); 0 (default): delete them all")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="llmops-plan-bench-") as tmp:
        suite = copy_suite(Path(tmp), args.keep_every)
        target = str(suite / args.only) if args.only else str(suite)
        plan_out = pytest(Path(tmp), target, "--llmops-plan", "--llmops-record-mode=once")
        planned, total = parse_plan(plan_out)
        started = time.perf_counter()
        out = pytest(Path(tmp), target, "--llmops-record-mode=once", "--llmops-report=live.json")
        live_s = time.perf_counter() - started
        report_path = Path(tmp) / "live.json"
        if not report_path.is_file():
            raise SystemExit(f"the live run wrote no record:\n{out[-3000:]}")
        record = json.loads(report_path.read_text(encoding="utf-8"))
        _, again = parse_plan(pytest(Path(tmp), target, "--llmops-plan", "--llmops-record-mode=all"))
    spent = float(record["totals"]["cost_usd"] or 0.0)
    actual = {t["nodeid"]: (len(t.get("calls") or []), sum(float(c.get("cost_usd") or 0) for c in t.get("calls") or []))
              for t in record["tests"]}
    live_tests = {n: v for n, v in planned.items() if v[0] and n in actual}
    inside = [lo - 1e-9 <= actual[n][1] <= hi + 1e-9 for n, (_, _, lo, hi) in live_tests.items()]
    spent = sum(actual[n][1] for n in live_tests) if live_tests else spent
    estimate, low, high = total[3], total[5], total[6]
    unpriced = plan_out.count("unpriced:")
    error = (estimate - spent) / spent if spent else float("nan")
    print(f"plan before the live run: {int(total[2])} live calls, ${estimate:.6f} (range ${low:.6f}..${high:.6f})"
          f"{'; unpriced tests (model unknown before they run): ' + str(unpriced) if unpriced else ''}")
    print(f"live run ({live_s:.0f}s): {sum(a[0] for a in actual.values())} calls, spent ${spent:.6f}")
    print(f"total estimate error: {error:+.1%}; actual inside the plan's range: {low <= spent <= high}; "
          f"tests inside their own range: {sum(inside)}/{len(inside)}")
    full = args.keep_every <= 0 and spent > 0  # with kept recordings, mode all re-plans tests this run replayed
    print(f"plan with recordings (--llmops-record-mode=all): ${again[3]:.6f}, error {(again[3] - spent) / spent:+.1%}"
          if full else "")
    emit_result("plan_accuracy", f"total estimate error (keep every {args.keep_every})", round(error * 100, 1),
                unit="%")
    emit_result("plan_accuracy", "actual spend inside the plan's range", int(low <= spent <= high), unit="bool",
                goal="1", met=low <= spent <= high)
    emit_result("plan_accuracy", "tests whose actual cost is inside their range",
                round(sum(inside) / len(inside), 3) if inside else None, unit="share")
    if full:
        emit_result("plan_accuracy", "estimate error with recordings (mode all)",
                    round((again[3] - spent) / spent * 100, 1), unit="%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
