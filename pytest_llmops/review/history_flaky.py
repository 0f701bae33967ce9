"""Per-test history: the outcome strip, the flip rate with its Wilson interval, and the "flaky" label.

Definitions (also in ``docs/history.md``):

* **Judged runs** are the runs where the test passed (or xpassed) or failed; errors (infrastructure),
  skips and xfails are shown in the strip but carry no verdict.
* **Flips** are changes of verdict between consecutive judged runs; the **flip rate** is flips / (judged
  runs - 1), with a 95% Wilson score interval.
* A flip is a **level shift** when the verdict held for at least :data:`PERSIST` judged runs before it and
  holds for at least :data:`PERSIST` after it: a change (a regression or a fix), not flakiness.  The other
  flips are **unexplained**; their rate has its own Wilson interval.
* **flaky**: the interval of the unexplained-flip rate excludes 0 (at least one flip that is no level
  shift), and either the test is deterministic by design (every model call replayed, or no calls and not
  sampled: the same inputs must give the same verdict) or its pass rate is unstable: for a plain live test
  one verdict per run is its only sample, so a verdict that comes and goes means a pass probability strictly
  between 0 and 1; for a sampled test, the per-run pass counts vary more than binomial sampling explains
  (dispersion test, chi-square with runs - 1 degrees of freedom, p < :data:`DISPERSION_ALPHA`).
* **borderline**: a sampled test whose verdict flips while its pass rate is stable (the rate sits near the
  threshold); **changed**: only level shifts; **stable**: no flip; **few runs**: fewer than 3 judged runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from . import stats
from .history_load import RunData, TestPoint

PERSIST = 3
DISPERSION_ALPHA = 0.001
MIN_RUNS = 3


@dataclass
class TestHistory:
    __test__ = False

    nodeid: str
    strip: str  # one code per run: P pass, F fail, E error, S skip, X xfail, . absent
    judged: int
    flips: int
    shifts: list[int]  # run indexes where a level shift started
    flip_rate: float | None
    interval: tuple[float, float] | None
    unexplained_interval: tuple[float, float] | None
    deterministic: bool
    sampled: bool
    dispersion_p: float | None
    label: str
    sampled_rates: list[float | None]  # per run, for sampled tests (None when absent or not sampled)

    @property
    def flaky(self) -> bool:
        return self.label == "flaky"


@lru_cache(maxsize=4096)
def wilson(k: int, n: int) -> tuple[float, float] | None:
    """:func:`.stats.wilson_interval`, cached: a history asks for the same (k, n) pairs for many tests."""
    return stats.wilson_interval(k, n)


def _segments(verdicts: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of equal verdicts."""
    out: list[tuple[int, int]] = []
    for i, v in enumerate(verdicts):
        if out and verdicts[out[-1][0]] == v:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((i, 1))
    return out


def level_shifts(verdicts: Sequence[bool], persist: int = PERSIST) -> list[int]:
    """Positions (in ``verdicts``) where a persistent change of verdict starts."""
    segs = _segments(verdicts)
    return [segs[i][0] for i in range(1, len(segs)) if segs[i - 1][1] >= persist and segs[i][1] >= persist]


def dispersion_pvalue(counts: Sequence[tuple[int, int]]) -> float | None:
    """p of "the per-run pass counts (k of n) share one pass rate" (chi-square dispersion test); None if n/a."""
    counts = [(k, n) for k, n in counts if n > 0]
    total = sum(n for _, n in counts)
    if len(counts) < 2 or total == 0:
        return None
    rate = sum(k for k, _ in counts) / total
    if rate in (0.0, 1.0):
        return 1.0
    statistic = math.fsum((k - n * rate) ** 2 / (n * rate * (1 - rate)) for k, n in counts)
    from scipy.stats import chi2

    return float(chi2.sf(statistic, len(counts) - 1))


def _label(judged: int, unexplained: int, shifts: int, deterministic: bool, sampled: bool,
           dispersion_p: float | None) -> str:
    if judged < MIN_RUNS:
        return "few runs"
    if unexplained == 0:
        return "changed" if shifts else "stable"
    if deterministic or not sampled:
        return "flaky"
    if dispersion_p is not None and dispersion_p < DISPERSION_ALPHA:
        return "flaky"
    return "borderline"


def history_of(nodeid: str, points: Sequence[TestPoint | None]) -> TestHistory:
    """The history of one test from its point in each run (``None`` where the run did not have it)."""
    strip = "".join(p.code if p is not None else "." for p in points)
    judged_at = [i for i, p in enumerate(points) if p is not None and p.code in "PF"]
    verdicts = [points[i].code == "P" for i in judged_at]  # type: ignore[union-attr]
    flips = sum(1 for a, b in zip(verdicts, verdicts[1:], strict=False) if a != b)
    shifts = level_shifts(verdicts)
    present = [p for p in points if p is not None]
    sampled_counts = [p.sampled for p in present if p.sampled is not None]
    sampled = bool(sampled_counts)
    calls = sum(p.calls for p in present)
    live = sum(p.live_calls for p in present)
    deterministic = live == 0 and (calls > 0 or not sampled)
    transitions = len(verdicts) - 1
    dispersion_p = dispersion_pvalue(sampled_counts) if sampled and flips else None
    unexplained = flips - len(shifts)
    return TestHistory(
        nodeid=nodeid, strip=strip, judged=len(verdicts), flips=flips,
        shifts=[judged_at[s] for s in shifts],
        flip_rate=flips / transitions if transitions > 0 else None,
        interval=wilson(flips, transitions),
        unexplained_interval=wilson(unexplained, transitions),
        deterministic=deterministic, sampled=sampled, dispersion_p=dispersion_p,
        label=_label(len(verdicts), unexplained, len(shifts), deterministic, sampled, dispersion_p),
        sampled_rates=[(p.sampled[0] / p.sampled[1]) if p is not None and p.sampled and p.sampled[1] else None
                       for p in points] if sampled else [],
    )


def histories_of(runs: Sequence[RunData]) -> list[TestHistory]:
    """Every test seen in any run, flaky first, then by flip rate (highest first), then by node id."""
    nodeids = sorted({nodeid for run in runs for nodeid in run.tests})
    histories = [history_of(nodeid, [run.tests.get(nodeid) for run in runs]) for nodeid in nodeids]
    order = {"flaky": 0, "borderline": 1, "changed": 2, "few runs": 3, "stable": 4}
    histories.sort(key=lambda h: (order[h.label], -(h.flip_rate or 0.0), h.nodeid))
    return histories
