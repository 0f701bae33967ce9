"""Confident mode's mixture martingales M+ / M- (maths in ``sequential``): crossing boundaries and bounds.

Also :func:`smallest_n_that_can_pass` for either mode.  numpy/scipy are imported inside the functions.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from .spec import SamplingSpec


def log_mixture_plus(passes: Any, failures: Any, p0: Any) -> Any:
    """``log M+`` (uniform prior truncated to ``[p0, 1]``) for ``0 < p0 < 1``; numpy-broadcasting."""
    import numpy as np
    from scipy.special import betaincc, betaln

    s = np.asarray(passes, dtype=float)
    f = np.asarray(failures, dtype=float)
    p = np.asarray(p0, dtype=float)
    with np.errstate(divide="ignore"):
        tail = np.log(betaincc(s + 1, f + 1, p))
    return betaln(s + 1, f + 1) + tail - np.log1p(-p) - s * np.log(p) - f * np.log1p(-p)


def log_mixture_minus(passes: Any, failures: Any, p0: Any) -> Any:
    """``log M-`` (uniform prior truncated to ``[0, p0]``) for ``0 < p0 < 1``; ``M-(p; s, f) = M+(1-p; f, s)``."""
    import numpy as np
    from scipy.special import betainc, betaln

    s = np.asarray(passes, dtype=float)
    f = np.asarray(failures, dtype=float)
    p = np.asarray(p0, dtype=float)
    with np.errstate(divide="ignore"):
        head = np.log(betainc(s + 1, f + 1, p))
    return betaln(s + 1, f + 1) + head - np.log(p) - s * np.log(p) - f * np.log1p(-p)


@lru_cache(maxsize=128)
def crossing_boundaries(p0: float, alpha: float, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(PB, FB)``: ``PB[f]`` = fewest passes with ``M+ >= 1/alpha`` given ``f`` failures (``n + 1`` if none
    up to n); ``FB[s]`` = fewest failures with ``M- >= 1/alpha`` given ``s`` passes.  Both are monotone in
    their count (M+ grows with passes, M- with failures), found by a vectorised binary search."""
    never = n + 1
    if p0 <= 0.0:
        return (0,) * (n + 1), (never,) * (n + 1)
    if p0 >= 1.0:
        return (never,) * (n + 1), (1,) * (n + 1)
    import numpy as np

    log_k = math.log(1.0 / alpha)
    others = np.arange(n + 1)

    def smallest(crosses: Any) -> tuple[int, ...]:
        lo = np.zeros(n + 1, dtype=np.int64)
        hi = np.full(n + 1, never, dtype=np.int64)  # hi == never: "no count up to n crosses" (so far)
        while True:
            open_ = lo < hi
            if not open_.any():
                return tuple(int(x) for x in hi)
            mid = (lo + hi) // 2
            ok = open_ & crosses(np.minimum(mid, n), others)
            hi = np.where(ok, mid, hi)
            lo = np.where(open_ & ~ok, mid + 1, lo)

    pass_bound = smallest(lambda s, f: log_mixture_plus(s, f, p0) >= log_k)
    fail_bound = smallest(lambda f, s: log_mixture_minus(s, f, p0) >= log_k)
    return pass_bound, fail_bound


def _lower_anytime_bound(passes: int, failures: int, alpha: float) -> float:
    """``inf{p : M+_t(p) < 1/alpha}`` (``{p : M+ >= 1/alpha}`` is an interval ``[0, lo]``)."""
    if passes == 0:
        return 0.0  # the likelihood ratio is <= 1 on [p, 1] for every p: M+ <= 1
    from scipy.optimize import brentq

    log_k = math.log(1.0 / alpha)

    def excess(p: float) -> float:
        return float(log_mixture_plus(passes, failures, p)) - log_k

    a, b = 1e-12, 1.0 - 1e-12
    if excess(a) < 0.0:
        return 0.0
    if excess(b) >= 0.0:  # pragma: no cover - M+ -> 1 as p -> 1
        return 1.0
    return float(brentq(excess, a, b, xtol=1e-14, rtol=8.9e-16))


def anytime_bounds(passes: int, failures: int, confidence: float) -> tuple[float, float]:
    """Anytime-valid (confidence-sequence) bounds ``(lo, hi)`` on the pass rate from ``M+`` / ``M-``."""
    alpha = 1.0 - confidence
    lo = _lower_anytime_bound(passes, failures, alpha)
    hi = 1.0 - _lower_anytime_bound(failures, passes, alpha)
    return lo, hi


def smallest_n_that_can_pass(spec: SamplingSpec) -> int | None:
    """Fewest samples with which the test can pass (all of them passing), ``None`` if it never can.

    ``k_of_n``: ``max(required, min_valid, 1)``.  ``confident``: the smallest ``s`` with ``M+(s, 0) >=
    1/alpha`` (and ``>= min_valid``); ``None`` for ``min_pass_rate == 1``.  The value is *not* capped at
    ``spec.n``: a result above ``spec.n`` means the configured test can never pass - the runner should warn.
    """
    floor = max(spec.effective_min_valid, 1)
    if spec.mode == "k_of_n":
        return max(spec.required_passes, floor)
    p0 = float(spec.min_pass_rate)
    if p0 >= 1.0:
        return None
    if p0 <= 0.0:
        return floor
    import numpy as np

    log_k = math.log(1.0 / spec.alpha)
    # M+(s, 0) ~ p0^-s / ((s+1)(1-p0)); grow the search window geometrically.
    limit = 64
    while True:
        s = np.arange(limit + 1)
        hits = np.nonzero(log_mixture_plus(s, 0, p0) >= log_k)[0]
        if hits.size:
            return max(int(hits[0]), floor)
        limit *= 4
