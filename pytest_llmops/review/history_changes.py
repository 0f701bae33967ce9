"""Change points in a series of run figures (pass rate, golden-set metrics, cost, tokens, p95 latency).

Method: penalised least-squares segmentation (a change in the mean), solved exactly by PELT as
``ruptures.KernelCPD(kernel="linear")`` implements it (the linear kernel's cost is the L2 cost, in C).
Before segmenting, the series is scaled by a robust estimate of its run-to-run noise: the median absolute
deviation of the first differences / √2 (a step moves one difference only, so it does not inflate the
estimate; when most differences are 0, their standard deviation is used instead).  The penalty per change
point is ``PENALTY × ln(n)`` in those units (a BIC-style penalty, three times BIC's 2 ln n to keep false
alarms rare on noisy, heavy-tailed nightly series), and each segment spans at least :data:`MIN_SIZE` runs.

Cost, tokens and latency are segmented on a log scale (their noise grows with their level; see
:func:`detect`).  Runs where a figure is missing (e.g. cost unknown) are left out of that series and do not count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PENALTY = 6.0
MIN_SIZE = 3


@dataclass
class ChangePoint:
    index: int  # first run (index into the history's runs) of the new level
    before: float  # mean of the segment before
    after: float  # mean of the segment from ``index`` on

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def relative(self) -> float | None:
        return self.change / abs(self.before) if self.before else None


def noise_scale(values: Sequence[float]) -> float:
    """Run-to-run noise of a series: MAD of first differences / √2 (their std when the MAD is 0)."""
    import numpy as np

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return 0.0
    diffs = np.diff(x)
    mad = float(np.median(np.abs(diffs - np.median(diffs)))) * 1.4826 / math.sqrt(2)
    if mad > 0:
        return mad
    return float(np.std(diffs)) / math.sqrt(2)


def segments(breaks: Sequence[int], n: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each segment, given the first index of every new segment."""
    edges = [0, *breaks, n]
    return [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


def detect(values: Sequence[float | None], *, relative: bool = False, penalty: float = PENALTY,
           min_size: int = MIN_SIZE) -> list[ChangePoint]:
    """Change points of a series (``None`` or non-finite values are skipped); indexes refer to ``values``.

    ``relative``: the figure's noise grows with its level (cost, tokens, latency): segment its logarithm, so
    a doubling is one step of the same size at any level (when every value is > 0; else the values as given).
    """
    at = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(at) < 2 * min_size:
        return []
    import numpy as np

    x = np.asarray([values[i] for i in at], dtype=float)
    y = np.log(x) if relative and bool((x > 0).all()) else x
    sigma = noise_scale(y)
    if sigma <= 0 or not math.isfinite(sigma):
        return []  # a constant series
    import ruptures

    signal = ((y - y.mean()) / sigma).reshape(-1, 1)
    ends = ruptures.KernelCPD(kernel="linear", min_size=min_size).fit(signal).predict(pen=penalty * math.log(len(x)))
    breaks = [int(e) for e in ends[:-1]]
    means = [float(x[a:b].mean()) for a, b in segments(breaks, len(x))]
    return [ChangePoint(index=at[b], before=means[k], after=means[k + 1]) for k, b in enumerate(breaks)]


def noise_within_segments(values: Sequence[float | None], points: Sequence[ChangePoint]) -> list[float]:
    """Run-to-run differences of a series, leaving out the steps at its change points (for noise models)."""
    starts = {p.index for p in points}
    out = []
    previous: float | None = None
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        if previous is not None and i not in starts:
            out.append(v - previous)
        previous = v
    return out
