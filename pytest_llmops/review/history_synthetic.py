"""A seeded series of realistic run records with planted drift and planted flaky tests (tests, ``bench/history.py``).

What is planted (and returned in :class:`Truth`, so a test can check the history report finds it):

* **drift** at run ``drift_at``: the model got worse and dearer: the golden set's ``similarity`` mean drops
  by 0.1, a few golden cases start failing for good (a level shift, not flakiness), and every call costs
  1.5 × and uses 1.4 × the tokens;
* **latency** shift at run ``latency_at``: calls take twice as long;
* **flaky tests**: replayed (deterministic-by-design) tests whose outcome is random, and sampled tests whose
  true pass rate jumps between runs (over-dispersed: more run-to-run variation than sampling explains);
* **stable tests**: replayed and live tests that always pass (or always fail), and a sampled test whose
  verdict may wobble around its threshold while its pass rate stays the same (``borderline``, not flaky).

Run start times are a nightly schedule with jitter; :func:`write_series` shuffles the file names so that
reading them in name order would be wrong.
"""

from __future__ import annotations

import datetime as _dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import synthetic as syn

GOLDEN = "goldens/support.jsonl"
START = _dt.datetime(2026, 1, 1, 2, 0, tzinfo=_dt.timezone.utc)


@dataclass
class Truth:
    runs: int
    drift_at: int
    latency_at: int
    flaky: set[str] = field(default_factory=set)
    stable: set[str] = field(default_factory=set)
    shifted: set[str] = field(default_factory=set)  # golden cases that start failing at the drift, for good
    borderline: set[str] = field(default_factory=set)


def _layout(tests: int, flaky: int) -> dict[str, list[str]]:
    """Node ids by kind; about half the suite is one golden set."""
    kinds: dict[str, list[str]] = {"golden": [], "replayed": [], "live": [], "flaky_replayed": [],
                                   "flaky_sampled": [], "borderline": []}
    kinds["flaky_replayed"] = [f"tests/test_tools.py::test_tool_call[{i}]" for i in range(flaky - flaky // 2)]
    kinds["flaky_sampled"] = [f"tests/test_tone.py::test_tone[{i}]" for i in range(flaky // 2)]
    kinds["borderline"] = ["tests/test_tone.py::test_tone_borderline"]
    rest = tests - sum(len(v) for v in kinds.values())
    golden = rest // 2
    kinds["golden"] = [f"tests/test_rag.py::test_answer[case-{i:04d}]" for i in range(golden)]
    replayed = (rest - golden) // 2
    kinds["replayed"] = [f"tests/test_format.py::test_format[{i}]" for i in range(replayed)]
    kinds["live"] = [f"tests/test_live.py::test_smoke[{i}]" for i in range(rest - golden - replayed)]
    return kinds


def _calls(rng: random.Random, run: int, truth: Truth, *, cached: bool, count: int = 1) -> list[dict[str, Any]]:
    scale = 1.5 if run >= truth.drift_at else 1.0
    tokens = 1.4 if run >= truth.drift_at else 1.0
    slow = 2.0 if run >= truth.latency_at else 1.0
    return [syn.call(cost=rng.uniform(0.0008, 0.0012) * scale, tokens=int(rng.randint(400, 600) * tokens),
                     latency=rng.lognormvariate(-0.7, 0.25) * slow, cached=cached) for _ in range(count)]


def _golden_tests(rng: random.Random, run: int, truth: Truth, nodeids: list[str]) -> list[dict[str, Any]]:
    out = []
    drop = 0.1 if run >= truth.drift_at else 0.0
    for nodeid in nodeids:
        case = nodeid[nodeid.index("[") + 1: -1]
        similarity = min(1.0, max(0.0, rng.gauss(0.86 - drop, 0.03)))
        outcome = "failed" if nodeid in truth.shifted and run >= truth.drift_at else "passed"
        out.append(syn.test(nodeid, outcome, golden=syn.golden(GOLDEN, case),
                            metrics=[syn.metric("similarity", similarity), syn.metric("length", rng.randint(80, 120))],
                            prompts=[{"name": "support_answer", "version": "v3", "hash": "h-v3"}],
                            calls=_calls(rng, run, truth, cached=False)))
    return out


def _sampled(rng: random.Random, nodeid: str, rate: float, n: int = 20) -> dict[str, Any]:
    passes = sum(rng.random() < rate for _ in range(n))
    return syn.test(nodeid, "passed" if passes >= 0.8 * n else "failed", sampling=syn.sampling(passes, n - passes))


def _run_tests(rng: random.Random, run: int, truth: Truth, kinds: dict[str, list[str]]) -> list[dict[str, Any]]:
    tests = _golden_tests(rng, run, truth, kinds["golden"])
    for nodeid in kinds["replayed"]:
        outcome = "failed" if nodeid.endswith("[0]") else "passed"  # one test that always fails: stable too
        tests.append(syn.test(nodeid, outcome, calls=_calls(rng, run, truth, cached=True, count=2)))
    for nodeid in kinds["live"]:
        tests.append(syn.test(nodeid, "passed", calls=_calls(rng, run, truth, cached=False)))
    for nodeid in kinds["flaky_replayed"]:
        outcome = "failed" if rng.random() < 0.3 else "passed"
        tests.append(syn.test(nodeid, outcome, calls=_calls(rng, run, truth, cached=True)))
    for nodeid in kinds["flaky_sampled"]:
        tests.append(_sampled(rng, nodeid, 0.97 if rng.random() < 0.6 else 0.45))
    for nodeid in kinds["borderline"]:
        tests.append(_sampled(rng, nodeid, 0.84))
    return tests


def series(runs: int = 60, tests: int = 40, *, seed: int = 0, drift_at: int | None = None,
           latency_at: int | None = None, flaky: int = 4) -> tuple[list[dict[str, Any]], Truth]:
    """``runs`` record dicts in time order (nightly), each with ``tests`` tests, and what was planted."""
    rng = random.Random(seed)
    truth = Truth(runs=runs, drift_at=runs // 2 if drift_at is None else drift_at,
                  latency_at=(runs * 3) // 4 if latency_at is None else latency_at)
    kinds = _layout(tests, flaky)
    truth.flaky = set(kinds["flaky_replayed"]) | set(kinds["flaky_sampled"])
    truth.shifted = set(kinds["golden"][: max(3, len(kinds["golden"]) // 4)])
    truth.borderline = set(kinds["borderline"])
    truth.stable = (set(kinds["golden"]) - truth.shifted) | set(kinds["replayed"]) | set(kinds["live"])
    records = []
    for run in range(runs):
        started = START + _dt.timedelta(days=run, minutes=rng.randint(0, 40), seconds=rng.randint(0, 59))
        commit = f"{random.Random(seed * 100_003 + run).getrandbits(160):040x}"
        records.append(syn.record(
            _run_tests(rng, run, truth, kinds),
            run=syn.run_info(commit=commit, branch="main", started_at=started.isoformat(timespec="milliseconds")),
            prompts=[{"name": "support_answer", "version": "v3", "hash": "h-v3"}],
            golden_sets=[{"path": GOLDEN, "hash": "g1", "cases": len(kinds["golden"]), "format": "jsonl"}],
        ))
    return records, truth


def write_series(directory: Path, records: list[dict[str, Any]], *, seed: int = 0) -> list[Path]:
    """Write the records as ``directory/<random>.json``: file names carry no order; the records' start times do."""
    directory.mkdir(parents=True, exist_ok=True)
    names = random.Random(seed).sample(range(10 * len(records) + 10), len(records))
    paths = []
    for name, data in zip(names, records, strict=True):
        path = directory / f"run-{name:06d}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(path)
    return paths


def pair(night: dict[str, Any], failing: str, *, drop: float = 0.01) -> tuple[dict[str, Any], dict[str, Any]]:
    """A base / head pair from one more night of a series (for trying ``diff --history``): base is the night
    with ``failing`` passing; head is base with ``failing`` failing and every golden case's ``similarity``
    lower by ``drop``."""
    base_tests, head_tests = [], []
    for test in night["tests"]:
        chosen = test["nodeid"] == failing
        base = {**test, "outcome": "passed"} if chosen else test
        head = {**base, "outcome": "failed", "message": "assert tool == 'search'"} if chosen else base
        if test.get("golden"):
            head = {**head, "metrics": [{**m, "value": m["value"] - drop} if m["name"] == "similarity" else m
                                        for m in head["metrics"]]}
        base_tests.append(base)
        head_tests.append(head)
    fields = {"prompts": night["prompts"], "golden_sets": night["golden_sets"]}
    return syn.record(base_tests, run=night["run"], **fields), syn.record(head_tests, run=night["run"], **fields)


def main(argv: list[str] | None = None) -> int:
    """``python -m pytest_llmops.review.history_synthetic DIR [--runs N] [--tests N] [--seed N]``: a demo series."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pytest_llmops.review.history_synthetic",
                                     description="write a seeded series of run records with planted drift and flaky "
                                                 "tests, to try 'pytest-llmops history' on")
    parser.add_argument("directory")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tests", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pair", metavar="DIR", help="also write DIR/base.json and DIR/head.json from one more night: "
                                                      "head has a flaky test failing and a small similarity drop")
    args = parser.parse_args(argv)
    records, truth = series(runs=args.runs + bool(args.pair), tests=args.tests, seed=args.seed,
                            drift_at=args.runs // 2, latency_at=(args.runs * 3) // 4)
    write_series(Path(args.directory), records[: args.runs], seed=args.seed)
    print(f"{args.runs} records in {args.directory}: drift from run {truth.drift_at}, latency step at run "
          f"{truth.latency_at}, flaky: {', '.join(sorted(truth.flaky))}")
    if args.pair:
        failing = sorted(n for n in truth.flaky if "test_tool_call" in n)[0]
        for name, data in zip(("base", "head"), pair(records[-1], failing), strict=True):
            Path(args.pair).mkdir(parents=True, exist_ok=True)
            (Path(args.pair) / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
        print(f"{args.pair}/base.json, {args.pair}/head.json: in head {failing} fails, similarity is 0.01 lower")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
