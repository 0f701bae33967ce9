"""The run-to-run noise a history shows, per test and per golden-set metric: the diff's history-aware noise model.

:func:`observed_noise` answers "how much does this figure move between two nightly runs when nothing
changed?".  Steps at detected change points (and per-test level shifts) are left out, so a real past
regression does not widen the noise band.  For each series the run-to-run differences give

* ``sd``: their standard deviation, and
* ``q95``: the 95th percentile of their absolute value ("a change this large happens in 1 of 20 nightly
  pairs").

Series: per test its verdict (flip rate), sampled pass rate and each metric's value; per golden set and metric
the set's mean (``golden``) and one case's value, pooled over the set's cases (``golden_cases``); per run the
pass rate, cost, tokens and p95 latency (``run``).

Cost, tokens and latency are relative (differences of the logarithm, i.e. ≈ fractional changes).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .history import History, build_history
from .history_changes import detect, noise_within_segments


@dataclass
class SeriesNoise:
    n: int  # run-to-run differences measured
    sd: float | None
    q95: float | None


@dataclass
class TestNoise:
    __test__ = False

    nodeid: str
    runs: int  # judged runs
    label: str  # flaky / borderline / changed / stable / few runs
    flips: int  # verdict changes between consecutive judged runs
    flip_rate: float | None
    flip_interval: tuple[float, float] | None
    fail_rate: float | None  # share of failed verdicts since the last level shift
    sampled_rate: SeriesNoise | None  # run-to-run change of the sampled pass rate (sampled tests)
    metrics: dict[str, SeriesNoise] = field(default_factory=dict)  # run-to-run change of each metric's value


@dataclass
class NoiseModel:
    runs: int
    tests: dict[str, TestNoise] = field(default_factory=dict)
    golden: dict[tuple[str, str], SeriesNoise] = field(default_factory=dict)  # (golden path, metric): set mean
    golden_cases: dict[tuple[str, str], SeriesNoise] = field(default_factory=dict)  # same, one case, pooled
    run: dict[str, SeriesNoise] = field(default_factory=dict)  # pass_rate, cost_usd, tokens, p95_latency_s


def series_noise(diffs: Sequence[float]) -> SeriesNoise:
    if not diffs:
        return SeriesNoise(0, None, None)
    sd = statistics.pstdev(diffs) if len(diffs) > 1 else None
    ordered = sorted(abs(d) for d in diffs)
    q95 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=20, method="inclusive")[-1]
    return SeriesNoise(len(diffs), sd, q95)


def _log(values: Sequence[float | None]) -> list[float | None]:
    return [math.log(v) if v is not None and v > 0 else None for v in values]


def _metric_noise(history: History, nodeid: str, golden: str | None,
                  pooled: dict[tuple[str, str], list[float]]) -> dict[str, SeriesNoise]:
    """Per metric of one test: its run-to-run changes, without the steps where the test's own series (or, for
    a golden case, its set's mean) changed level."""
    points = [run.tests.get(nodeid) for run in history.runs]
    names = sorted({name for p in points if p is not None and p.metrics for name in p.metrics})
    out = {}
    for name in names:
        values = [p.metrics.get(name) if p is not None and p.metrics else None for p in points]
        steps = detect(values)
        if golden is not None:
            key = f"golden:{golden}:{name}"
            steps += [c for t in history.trends if t.key == key for c in t.change_points]
        diffs = noise_within_segments(values, steps)
        out[name] = series_noise(diffs)
        if golden is not None:
            pooled.setdefault((golden, name), []).extend(diffs)
    return out


def _test_noise(history: History, pooled: dict[tuple[str, str], list[float]]) -> dict[str, TestNoise]:
    golden_of = {nodeid: p.golden for run in history.runs for nodeid, p in run.tests.items() if p.golden}
    out = {}
    for t in history.tests:
        since = t.shifts[-1] if t.shifts else 0
        tail = [c for c in t.strip[since:] if c in "PF"]
        sampled = None
        if t.sampled:
            rates = t.sampled_rates
            sampled = series_noise(noise_within_segments(rates, detect(rates)))
        out[t.nodeid] = TestNoise(
            nodeid=t.nodeid, runs=t.judged, label=t.label, flips=t.flips, flip_rate=t.flip_rate,
            flip_interval=t.interval,
            fail_rate=tail.count("F") / len(tail) if tail else None, sampled_rate=sampled,
            metrics=_metric_noise(history, t.nodeid, golden_of.get(t.nodeid), pooled))
    return out


def noise_model(history: History) -> NoiseModel:
    pooled: dict[tuple[str, str], list[float]] = {}
    model = NoiseModel(runs=len(history.runs), tests=_test_noise(history, pooled))
    model.golden_cases = {key: series_noise(diffs) for key, diffs in sorted(pooled.items())}
    for trend in history.trends:
        values = trend.values if trend.key == "pass_rate" or trend.golden_set else _log(trend.values)
        points = trend.change_points
        diffs = noise_within_segments(values, points)
        if trend.golden_set is not None and trend.metric is not None:
            model.golden[(trend.golden_set, trend.metric)] = series_noise(diffs)
        else:
            model.run[trend.key] = series_noise(diffs)
    return model


def observed_noise(inputs: Sequence[str | Path] | History) -> NoiseModel:
    """The noise model of the run records under ``inputs`` (files / directories), or of a built history."""
    history = inputs if isinstance(inputs, History) else build_history(inputs)
    return noise_model(history)
