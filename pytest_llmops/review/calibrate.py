"""``pytest-llmops calibrate``: from N ≥ 2 records of one suite, thresholds that rarely fail by chance.

For every **sampled test** the records give k passes of n samples per run.  The pass rate p̂ is pooled over
the runs; the run-to-run spread is compared with the binomial spread to estimate over-dispersion (answers
of one run share a server, a cache, a time of day); when present, the sample count is modelled beta-binomial
with the estimated intra-run correlation.  The recommendation is the smallest ``n`` (and the
``min_pass_rate`` = k/n it implies) whose k-of-n rule fails a test at the current rate with probability at
most ``target_false_fail`` (default 1%) and fails it with probability ≥ ``power`` (80%) when the rate drops
by ``drop`` (default 0.10).

For every **golden group** (test function × golden file × variant) the group's pass rate and each metric's
mean are collected per run; the threshold recommended for an ``@pytest.mark.aggregate(..., min=...)`` gate is
the lower one-sided prediction bound for one more run, ``mean − t(1 − target, N − 1)·sd·√(1 + 1/N)``, and the
drop that gate detects with 80% power is reported next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ReportError
from .comparable import MIN_MATCHED_SHARE
from .compare_goldens import group_views
from .load import ReviewRecord
from .views import FAIL, PASS, TestView, test_views

MAX_N = 400


@dataclass
class SampledAdvice:
    nodeid: str
    runs: int
    rate: float
    between_sd: float
    dispersion: float  # observed between-run variance / binomial variance (1 = no extra spread)
    current_n: int
    current_min_rate: float | None
    current_false_fail: float | None
    current_power: float | None
    n: int | None
    min_pass_rate: float | None
    false_fail: float | None
    power: float | None


@dataclass
class GroupAdvice:
    key: str
    quantity: str  # "pass rate" or a metric name
    runs: int
    mean: float
    between_sd: float
    higher_is_better: bool
    threshold: float
    detectable_drop: float


@dataclass
class Calibration:
    records: int
    target_false_fail: float
    power: float
    drop: float
    sampled: list[SampledAdvice] = field(default_factory=list)
    groups: list[GroupAdvice] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_series(records: list[ReviewRecord], views: list[dict[str, TestView]], allow_mixed: bool) -> None:
    """Two or more records of the same suite at one commit, or ReportError (exit 2) saying what differs."""
    if len(records) < 2:
        raise ReportError(f"calibrate needs at least two run records of the same suite (got {len(records)}): "
                          "run-to-run variability cannot be estimated from one run")
    commits = {(r.meta.run.git.commit if r.meta.run.git else None) for r in records}
    if len(commits - {None}) > 1 and not allow_mixed:
        raise ReportError(f"the records come from {len(commits - {None})} different commits of the suite "
                          f"({', '.join(sorted(c[:12] for c in commits if c))}): a change in the suite would be "
                          "counted as noise; give records of one commit (or --allow-mixed-commits)")
    first = views[0]
    for record, other in zip(records[1:], views[1:], strict=True):
        matched = len(first.keys() & other.keys())
        smaller = min(len(first), len(other))
        if smaller == 0 or matched < MIN_MATCHED_SHARE * smaller:
            raise ReportError(f"{records[0].label} and {record.label} look like records of different suites: only "
                              f"{matched} of {len(first)} / {len(other)} tests match by node id")


def calibrate(records: list[ReviewRecord], *, target_false_fail: float = 0.01, power: float = 0.8,
              drop: float = 0.10, allow_mixed: bool = False) -> Calibration:
    views = [test_views(r) for r in records]
    check_series(records, views, allow_mixed)
    out = Calibration(len(records), target_false_fail, power, drop)
    nodeids = sorted(set.intersection(*(set(v) for v in views)))
    for nodeid in nodeids:
        runs = [v[nodeid] for v in views if v[nodeid].sampling and v[nodeid].sampling[1] > 0]
        if len(runs) >= 2:
            out.sampled.append(_sampled(nodeid, runs, target_false_fail, power, drop))
    out.groups = _groups(views, target_false_fail, power)
    if not out.sampled and not out.groups:
        out.warnings.append("no sampled test and no golden group found in every record: nothing to calibrate")
    return out


def _dispersion(counts: list[tuple[int, int]], p: float) -> tuple[float, float]:
    rates = [k / n for k, n in counts]
    mean = sum(rates) / len(rates)
    sd = math.sqrt(sum((r - mean) ** 2 for r in rates) / (len(rates) - 1))
    n_bar = sum(n for _, n in counts) / len(counts)
    binomial_var = p * (1 - p) / n_bar
    return sd, (sd * sd / binomial_var) if binomial_var > 0 else 1.0


def _model(n: int, p: float, rho: float) -> Any:
    from scipy.stats import betabinom, binom

    if rho <= 0 or p <= 0 or p >= 1:
        return binom(n, min(1.0, max(0.0, p)))
    scale = 1 / rho - 1
    return betabinom(n, p * scale, (1 - p) * scale)


def _rule_rates(n: int, required: int, p: float, drop: float, rho: float) -> tuple[float, float]:
    """(false-fail rate at p, power against p − drop) of the rule "≥ required of n pass"."""
    return float(_model(n, p, rho).cdf(required - 1)), float(_model(n, max(0.0, p - drop), rho).cdf(required - 1))


def _sampled(nodeid: str, runs: list[TestView], target: float, power: float, drop: float) -> SampledAdvice:
    counts = [v.sampling for v in runs if v.sampling]
    k, n = sum(c[0] for c in counts), sum(c[1] for c in counts)
    p = k / n
    sd, phi = _dispersion(counts, p)
    n_bar = n / len(counts)
    rho = max(0.0, (phi - 1) / (n_bar - 1)) if n_bar > 1 else 0.0
    info = runs[-1].entry.get("sampling") or {}
    current_n = int(info.get("n_planned") or round(n_bar))
    current_min = info.get("min_pass_rate")
    cur_ff = cur_pw = None
    if isinstance(current_min, (int, float)):
        required = max(0, math.ceil(current_min * current_n - 1e-9))
        cur_ff, cur_pw = _rule_rates(current_n, required, p, drop, rho)
    advice = SampledAdvice(nodeid, len(counts), p, sd, phi, current_n, current_min, cur_ff, cur_pw,
                           None, None, None, None)
    found = _smallest_n(p, rho, target, power, drop)
    if found is not None:
        size, required, ff, pw = found
        advice.n, advice.false_fail, advice.power = size, ff, pw
        advice.min_pass_rate = math.floor(required / size * 1000) / 1000
    return advice


def _rule_for(size: int, p: float, rho: float, target: float, drop: float) -> tuple[int, float, float] | None:
    required = _largest_required(_model(size, p, rho), size, target)
    if required <= 0:
        return None
    ff, pw = _rule_rates(size, required, p, drop, rho)
    return required, ff, pw


def _smallest_n(p: float, rho: float, target: float, power: float,
                drop: float) -> tuple[int, int, float, float] | None:
    """The smallest n (to within the bisection; power grows with n up to discreteness) meeting both goals."""
    def ok(size: int) -> tuple[int, float, float] | None:
        rule = _rule_for(size, p, rho, target, drop)
        return rule if rule is not None and rule[2] >= power else None

    low, high = 1, 4
    while high <= MAX_N and ok(high) is None:
        low, high = high, high * 2
    if high > MAX_N:
        high = MAX_N
        if ok(high) is None:
            return None
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) is not None else (mid, high)
    rule = ok(high)
    assert rule is not None
    return high, *rule


def _largest_required(dist: Any, n: int, target: float) -> int:
    """The largest k such that P(passes < k) ≤ target."""
    cdf = dist.cdf(list(range(n + 1)))
    best = 0
    for k in range(1, n + 1):
        if cdf[k - 1] <= target:
            best = k
    return best


def _groups(views: list[dict[str, TestView]], target: float, power: float) -> list[GroupAdvice]:
    per_run = [group_views(v) for v in views]
    keys = sorted(set.intersection(*(set(g) for g in per_run)))
    found = []
    for key in keys:
        rates: list[float] = []
        metrics: dict[str, list[float]] = {}
        lower: set[str] = set()
        for groups in per_run:
            cases = list(groups[key].values())
            judged = [c for c in cases if c.outcome in PASS or c.outcome == FAIL]
            if judged:
                rates.append(sum(c.outcome in PASS for c in judged) / len(judged))
            names = set.intersection(*(set(c.metrics) for c in cases)) if cases else set()
            for name in names:
                metrics.setdefault(name, []).append(sum(c.metrics[name] for c in cases) / len(cases))
                lower |= {name for c in cases if name in c.lower_is_better}
        if len(rates) >= 2:
            found.append(_gate(key, "pass rate", rates, True, target, power))
        for name in sorted(metrics):
            if len(metrics[name]) >= 2:
                found.append(_gate(key, name, metrics[name], name not in lower, target, power))
    return found


def _gate(key: str, quantity: str, values: list[float], higher: bool, target: float, power: float) -> GroupAdvice:
    from scipy.stats import t

    runs = len(values)
    mean = sum(values) / runs
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (runs - 1))
    spread = t.ppf(1 - target, runs - 1) * sd * math.sqrt(1 + 1 / runs)
    detect = (t.ppf(1 - target, runs - 1) + t.ppf(power, runs - 1)) * sd * math.sqrt(1 + 1 / runs)
    return GroupAdvice(key, quantity, runs, mean, sd, higher, mean - spread if higher else mean + spread, detect)
