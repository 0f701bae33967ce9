"""Early stopping of sampled tests: how many samples it saves and whether it ever changes a verdict.

Seeded simulation, no model calls.  For true pass rates {0.5, 0.7, 0.8, 0.9, 0.99} it runs

* ``k_of_n`` 8-of-10 (``n=10, min_pass_rate=0.8``) and
* ``confident`` at 0.8 / 95% with at most ``n=50`` samples,

each with early stopping, and compares the verdict with the same rule run on all ``n`` samples of the same
outcome sequence (``early_stop=False``; must agree 100% - curtailment is exact).  For ``confident`` it also
shows agreement with a single look at ``n`` (same thresholds, evaluated once at the end).

    PYTHONPATH=. python bench/early_stop.py [--markdown] [--runs 10000] [--seed 0] [--error-rate 0]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from pytest_llmops.sampling.stats import (  # noqa: E402
    SamplingSpec,
    SequentialVerdict,
    log_mixture_minus,
    log_mixture_plus,
)

TRUE_RATES = (0.5, 0.7, 0.8, 0.9, 0.99)
THRESHOLD = 0.8
SPECS = {
    "k_of_n 8/10": SamplingSpec(n=10, min_pass_rate=THRESHOLD),
    "confident 0.8/n=50": SamplingSpec(n=50, min_pass_rate=THRESHOLD, mode="confident", confidence=0.95),
}
COLUMNS = (
    "rule",
    "true p",
    "mean samples",
    "n",
    "saved",
    "agree full-n",
    "agree 1-look",
    "passed",
    "failed",
    "inconcl.",
    "error",
    "false pass",
    "false fail",
)


def feed(spec: SamplingSpec, outcomes: list[str]) -> SequentialVerdict:
    sv = SequentialVerdict(spec)
    for outcome in outcomes:
        if sv.decided():
            break
        sv.add(outcome)
    return sv


def single_look(spec: SamplingSpec, passes: np.ndarray, failures: np.ndarray) -> np.ndarray:
    """`confident` thresholds applied once, after all n samples (what a fixed-n test would say)."""
    log_k = math.log(1.0 / spec.alpha)
    verdict = np.full(passes.shape, "inconclusive", dtype=object)
    verdict[log_mixture_minus(passes, failures, spec.min_pass_rate) >= log_k] = "failed"
    verdict[log_mixture_plus(passes, failures, spec.min_pass_rate) >= log_k] = "passed"
    verdict[passes + failures == 0] = "error"
    return verdict


def simulate(name: str, spec: SamplingSpec, true_rate: float, runs: int, error_rate: float, rng) -> dict:
    full_spec = replace(spec, early_stop=False)
    u = rng.random((runs, spec.n))
    errored = rng.random((runs, spec.n)) < error_rate
    used, agree, verdicts = 0, 0, {"passed": 0, "failed": 0, "inconclusive": 0, "error": 0}
    early_verdicts = []
    for row_u, row_e in zip(u, errored, strict=True):
        outcomes = ["error" if e else ("pass" if x < true_rate else "fail") for x, e in zip(row_u, row_e, strict=True)]
        early = feed(spec, outcomes)
        verdict = early.verdict()
        used += early.n_run
        agree += verdict == feed(full_spec, outcomes).verdict()
        early_verdicts.append(verdict)
        verdicts[verdict] += 1
    agree_one = 0
    if spec.mode == "confident":
        passes = ((u < true_rate) & ~errored).sum(axis=1)
        failures = ((u >= true_rate) & ~errored).sum(axis=1)
        agree_one = int((single_look(spec, passes, failures) == np.array(early_verdicts, dtype=object)).sum())
    rate = {k: v / runs for k, v in verdicts.items()}
    return {
        "rule": name,
        "true p": f"{true_rate:g}",
        "mean samples": f"{used / runs:.2f}",
        "n": str(spec.n),
        "saved": f"{1 - used / (runs * spec.n):.0%}",
        "agree full-n": f"{agree / runs:.2%}",
        "agree 1-look": f"{agree_one / runs:.2%}" if spec.mode == "confident" else "-",
        "passed": f"{rate['passed']:.3f}",
        "failed": f"{rate['failed']:.3f}",
        "inconcl.": f"{rate['inconclusive']:.3f}",
        "error": f"{rate['error']:.3f}",
        "false pass": f"{rate['passed']:.3f}" if true_rate < THRESHOLD else "-",
        "false fail": f"{rate['failed']:.3f}" if true_rate > THRESHOLD else "-",
        "_agree": agree / runs,
    }


def render(rows: list[dict], markdown: bool) -> str:
    cells = [[row[c] for c in COLUMNS] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*COLUMNS), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000, help="simulated runs per cell (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0, help="probability a sample errors (default 0)")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    rows = [
        simulate(name, spec, p, args.runs, args.error_rate, rng) for name, spec in SPECS.items() for p in TRUE_RATES
    ]
    print(render(rows, args.markdown))
    print(
        f"\n{args.runs} runs per row, seed {args.seed}, error rate {args.error_rate:g}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    bad = [r for r in rows if r["rule"].startswith("k_of_n") and r["_agree"] != 1.0]
    from _common import emit_result  # bench/_common.py: the lines bench/run_all.py reads

    k_rows = [r for r in rows if r["rule"].startswith("k_of_n")]
    agree = min(r["_agree"] for r in k_rows)
    emit_result("early_stop", "k_of_n 8/10 verdicts equal to full-n (min over p)", f"{agree:.2%}", goal="100%",
                met=agree == 1.0)
    for name in SPECS:
        saved = [float(r["saved"].rstrip("%")) for r in rows if r["rule"] == name]
        emit_result("early_stop", f"{name}: samples saved (mean over {len(TRUE_RATES)} true p)",
                    f"{sum(saved) / len(saved):.0f}%")
    if bad:
        print("ERROR: early stopping changed a k_of_n verdict", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
