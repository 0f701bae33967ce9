"""Benchmark: can a reviewer trust the diff's run-level verdict?  Simulated suites with known truth.

    PYTHONPATH=. python bench/verdict_trust.py [--diffs 1000] [--check 25] [--seed 7]

Each simulated run has 200 sampled tests (``@sampling(n=20)``), one 100-case golden set with two metrics and
50 deterministic tests.  ``--diffs`` pairs have no true change (every test keeps its true pass rate; golden
cases keep their per-case pass probability, mean 0.8, and their per-case metric level); ``--diffs`` more have
a drop planted on about 5% of the units: 5 sampled tests 0.9 → 0.7, 5 sampled tests 0.9 → 0.5, the golden
set (20 of its cases 0.8 → 0.2 and metric ``m1`` −0.05 on every case) and 3 deterministic tests that fail.

For each correction (fdr, by, holm, none) it prints: the run-level false-alarm rate (share of no-change diffs
that ``--fail-on regression`` fails; goal ≤ 0.05), the mean number of false flags per no-change diff, the
false discovery proportion among flagged items in the planted diffs, and the power per planted effect.

Speed: the p-values are computed vectorised with the functions of ``pytest_llmops.review.stats`` (Fisher's
exact test per 2×20 table, cached; exact McNemar; ``scipy.stats.wilcoxon`` along an axis), then each diff's
family is corrected with ``pytest_llmops.review.family.adjust`` and decided by the diff's rule.  The first
``--check`` pairs of each kind are also built as run records and sent through the real ``diff_records``; the
benchmark fails if a single verdict differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emit_result  # noqa: E402

from pytest_llmops.review import stats  # noqa: E402
from pytest_llmops.review import synthetic as syn  # noqa: E402
from pytest_llmops.review.compare_tests import min_attainable_p  # noqa: E402
from pytest_llmops.review.diff import DiffOptions, diff_records  # noqa: E402
from pytest_llmops.review.family import adjust, tarone_level  # noqa: E402

N_SAMPLED, N_SAMPLES, N_CASES, N_DET = 200, 20, 100, 50
ALPHA = 0.05
CORRECTIONS = ("fdr", "by", "holm", "none")
GOLDEN_KEY = "t_golden.py::test_answer over g.jsonl"
PLANTED_SAMPLED = {**{i: 0.7 for i in range(5)}, **{i: 0.5 for i in range(5, 10)}}  # test index -> head rate
PLANTED_DET = (0, 1, 2)


class Suite:
    """The true state of the simulated suite (shared by base and head) and the draws of many runs."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rates = np.full(N_SAMPLED, 0.85)
        self.rates[list(PLANTED_SAMPLED)] = 0.9
        self.case_p = rng.beta(4, 1, N_CASES)  # per-case pass probability, mean 0.8
        self.case_level = rng.uniform(0.3, 0.9, (2, N_CASES))  # per-case true level of m1, m2

    def draw(self, rng: np.random.Generator, runs: int, planted: bool) -> dict[str, np.ndarray]:
        rates = np.broadcast_to(self.rates, (runs, N_SAMPLED)).copy()
        case_p = np.broadcast_to(self.case_p, (runs, N_CASES)).copy()
        level = np.broadcast_to(self.case_level, (runs, 2, N_CASES)).copy()
        det_fail = np.zeros((runs, N_DET), dtype=bool)
        if planted:
            for i, rate in PLANTED_SAMPLED.items():
                rates[:, i] = rate
            case_p[:, :20] = 0.2
            level[:, 0, :] -= 0.05
            det_fail[:, list(PLANTED_DET)] = True
        return {
            "k": rng.binomial(N_SAMPLES, rates),
            "case_pass": rng.random((runs, N_CASES)) < case_p,
            "metrics": level + rng.normal(0, 0.1, (runs, 2, N_CASES)),
            "det_fail": det_fail,
        }


def _boschloo_table() -> np.ndarray:
    """p of "head dropped" for every (base passes, head passes) of two 20-sample runs."""
    drop = np.ones((N_SAMPLES + 1, N_SAMPLES + 1))
    for kb in range(N_SAMPLES + 1):
        for kh in range(N_SAMPLES + 1):
            drop[kb, kh] = stats.conditional_drop_pvalue(kb, N_SAMPLES, kh, N_SAMPLES)
    return drop


def _wilcoxon_worse(worse_by: np.ndarray) -> np.ndarray:
    """Row-wise one-sided signed-rank p of "head is worse" (worse_by > 0), like stats.signed_rank_pvalue."""
    from scipy.stats import wilcoxon

    p = wilcoxon(-worse_by, alternative="less", axis=-1).pvalue
    return np.where((worse_by > 0).any(axis=-1), p, 1.0)


def pvalues(base: dict[str, np.ndarray], head: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every diff's one-sided p-values of "head is worse", and the smallest p each comparison could reach."""
    kb, kh = base["k"], head["k"]
    bp, hp = base["case_pass"], head["case_pass"]
    worse, better = (bp & ~hp).sum(axis=1), (~bp & hp).sum(axis=1)
    golden = np.array([stats.mcnemar_pvalue(int(w), int(b)) for w, b in zip(worse, better, strict=True)])
    metrics = _wilcoxon_worse(base["metrics"] - head["metrics"])  # higher is better: positive = worse
    runs = len(kb)
    min_p = np.array([min_attainable_p(t, N_SAMPLES, N_SAMPLES) for t in range(2 * N_SAMPLES + 1)])
    return {
        "p": np.concatenate([_boschloo_table()[kb, kh], golden[:, None], metrics], axis=1),
        "min_p": np.concatenate([min_p[kb + kh], (0.5 ** (worse + better))[:, None], np.zeros((runs, 2))], axis=1),
        "det": head["det_fail"] & ~base["det_fail"],
    }


SUBJECTS = [f"t_s.py::test_s{i}" for i in range(N_SAMPLED)] + [GOLDEN_KEY] * 3


def verdicts(p: dict[str, np.ndarray], correction: str) -> list[set[str]]:
    """The regression subjects of every diff, by the diff's rules (family: Tarone's screen, then the correction)."""
    out = []
    for r in range(len(p["p"])):
        fam = np.flatnonzero(p["min_p"][r] <= tarone_level(list(p["min_p"][r]), ALPHA))
        adj = adjust(list(p["p"][r, fam]), correction)
        flagged = {SUBJECTS[i] for i, a in zip(fam, adj, strict=True) if a < ALPHA}
        flagged |= {f"t_det.py::test_d{i}" for i in np.flatnonzero(p["det"][r])}
        out.append(flagged)
    return out


def _record(run: dict[str, np.ndarray], r: int) -> dict:
    tests = []
    for i in range(N_SAMPLED):
        k = int(run["k"][r, i])
        tests.append(syn.test(f"t_s.py::test_s{i}", "passed" if k >= 16 else "failed",
                              sampling=syn.sampling(k, N_SAMPLES - k)))
    for c in range(N_CASES):
        tests.append(syn.test(f"t_golden.py::test_answer[c{c}]", "passed" if run["case_pass"][r, c] else "failed",
                              golden=syn.golden("g.jsonl", f"c{c}"),
                              metrics=[syn.metric("m1", float(run["metrics"][r, 0, c])),
                                       syn.metric("m2", float(run["metrics"][r, 1, c]))]))
    for d in range(N_DET):
        tests.append(syn.test(f"t_det.py::test_d{d}", "failed" if run["det_fail"][r, d] else "passed"))
    return syn.record(tests)


def check(base: dict, head: dict, fast: list[set[str]], correction: str, count: int) -> int:
    """Pairs whose real diff_records verdict equals the vectorised one."""
    same = 0
    for r in range(count):
        result = diff_records(_record(base, r), _record(head, r), DiffOptions(correction=correction))
        real = {f.subject for f in result.regressions}
        same += real == fast[r]
        if real != fast[r]:
            print(f"  MISMATCH {correction} pair {r}: real {sorted(real)} vs simulated {sorted(fast[r])}")
    return same


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--diffs", type=int, default=1000, help="no-change diffs, and as many planted (1000)")
    parser.add_argument("--check", type=int, default=25, help="pairs per kind also run through diff_records")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    suite = Suite(rng)
    null_b, null_h = suite.draw(rng, args.diffs, False), suite.draw(rng, args.diffs, False)
    plant_b, plant_h = suite.draw(rng, args.diffs, False), suite.draw(rng, args.diffs, True)
    planted = ({f"t_s.py::test_s{i}" for i in PLANTED_SAMPLED} | {GOLDEN_KEY}
               | {f"t_det.py::test_d{i}" for i in PLANTED_DET})
    print(f"{args.diffs} no-change diffs and {args.diffs} planted diffs; suite: {N_SAMPLED} sampled tests "
          f"(n={N_SAMPLES}), a {N_CASES}-case golden set with 2 metrics, {N_DET} deterministic tests\n")
    print(f"{'correction':<11} {'run false alarm':>15} {'false flags/diff':>16} {'FDR flagged':>11} "
          f"{'0.9→0.7':>8} {'0.9→0.5':>8} {'golden':>7} {'det flip':>8} {'checked':>8}")
    mismatches = 0
    null_p, plant_p = pvalues(null_b, null_h), pvalues(plant_b, plant_h)
    for correction in CORRECTIONS:
        null = verdicts(null_p, correction)
        plant = verdicts(plant_p, correction)
        alarm = float(np.mean([bool(v) for v in null]))
        false_flags = float(np.mean([len(v) for v in null]))
        flagged = sum(len(v) for v in plant)
        fdp = sum(len(v - planted) for v in plant) / flagged if flagged else 0.0
        power = {name: float(np.mean([len(v & subjects) / len(subjects) for v in plant])) for name, subjects in (
            ("0.9→0.7", {f"t_s.py::test_s{i}" for i, r in PLANTED_SAMPLED.items() if r == 0.7}),
            ("0.9→0.5", {f"t_s.py::test_s{i}" for i, r in PLANTED_SAMPLED.items() if r == 0.5}),
            ("golden", {GOLDEN_KEY}), ("det", {f"t_det.py::test_d{i}" for i in PLANTED_DET}))}
        n_check = min(args.check, args.diffs)
        same = check(null_b, null_h, null, correction, n_check) + check(plant_b, plant_h, plant, correction, n_check)
        mismatches += 2 * n_check - same
        print(f"{correction:<11} {alarm:>15.3f} {false_flags:>16.3f} {fdp:>11.3f} {power['0.9→0.7']:>8.3f} "
              f"{power['0.9→0.5']:>8.3f} {power['golden']:>7.3f} {power['det']:>8.3f} {same:>4}/{2 * n_check}")
        goal = "<= 0.05" if correction in ("fdr", "by", "holm") else ""
        emit_result("verdict_trust", f"run-level false alarm ({correction})", round(alarm, 4), goal=goal,
                    met=(alarm <= 0.05) if goal else None)
        emit_result("verdict_trust", f"FDR among flagged ({correction})", round(fdp, 4))
        for name, value in power.items():
            emit_result("verdict_trust", f"power {name} ({correction})", round(value, 4))
    emit_result("verdict_trust", "verdicts equal to diff_records", mismatches == 0, goal="all", met=mismatches == 0)
    print(f"\n{time.perf_counter() - start:.1f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
