"""The statistics behind stochastic verdicts (``@pytest.mark.sampling``).

A sampled test runs its body up to ``n`` times.  Every sample ends ``"pass"``, ``"fail"`` or ``"error"``
(an infrastructure error: provider outage, spent budget, missing recording...).  This module holds the pure
decision logic the runner calls between samples / waves; it imports neither pytest nor (at module level)
numpy/scipy.

Two modes
---------
``k_of_n`` (default)
    ``required = ceil(min_pass_rate * n)`` computed on the *decimal* value the user wrote (``0.7 * 10`` is
    7, not 8).  The final verdict, once all ``n`` slots are used, with ``passes``/``failures``/``errors``::

        valid < min_valid                 -> "error"   (too few usable samples)
        passes >= required                -> "passed"
        passes + errors < required        -> "failed"  (even if every errored sample had passed, the test
                                                        could not reach `required`: the failures alone fail it)
        otherwise                         -> "error"   (the errored samples made `required` unreachable
                                                        although the failures alone would not have failed it)

    An errored sample consumes one of the ``n`` slots and is excluded from the reported rate.

``confident``
    Anytime-valid test of ``H0: p <= p0`` (``p0 = min_pass_rate``) with a mixture sequential probability
    ratio test (Robbins' mixture martingale).  With ``s`` passes and ``f`` failures among the valid samples::

        M+(p0) = 1/(1-p0) * Integral_{p0}^{1} (theta/p0)^s ((1-theta)/(1-p0))^f d theta
               = B(s+1, f+1) * I^c_{p0}(s+1, f+1) / ((1-p0) p0^s (1-p0)^f)

    i.e. the likelihood ratio mixed over a uniform prior truncated to ``[p0, 1]``.  Under any ``p <= p0`` it
    is a nonnegative supermartingale with ``M+_0 = 1``, so by Ville's inequality
    ``P(exists t: M+_t >= 1/alpha) <= alpha`` (``alpha = 1 - confidence``): the test may be looked at after
    every sample and still passes a not-good-enough system with probability at most ``alpha``.  The mirror
    statistic ``M-`` (prior truncated to ``[0, p0]``) fails the test, bounding the false-fail rate under
    ``p >= p0`` by ``alpha``.  The verdict is latched at the *first* crossing (a stopping time), and the
    crossing also needs ``min_valid`` valid samples.  Both statistics cannot cross together (when the
    maximum-likelihood estimate is above ``p0`` the likelihood ratio is <= 1 on ``[0, p0]``, so ``M- <= 1``).

    If all ``n`` slots are used without a crossing the verdict is ``"inconclusive"`` - unless it is the
    errors' fault, in the same sense as ``k_of_n``: ``"error"`` when ``valid < min_valid`` or when the
    errored samples, had they been passes (resp. failures), would have made ``M+`` (resp. ``M-``) cross.

    Edge cases: ``p0 = 0`` passes as soon as ``min_valid`` valid samples exist (``p >= 0`` needs no
    evidence); ``p0 = 1`` can never pass at any finite ``n`` (no finite sample proves ``p = 1``) - it can
    only fail (one failure suffices) or end inconclusive; an all-error run is ``"error"``.

    Anytime-valid bounds: ``lo = inf{p : M+_t(p) < 1/alpha}`` and ``hi = sup{p : M-_t(p) < 1/alpha}``
    form a confidence sequence (each covers the truth at all times simultaneously with probability
    ``>= 1 - alpha``).  ``{p : M+(p) >= K}`` is an interval ``[0, lo]`` for any ``K > 1`` (``dM+/dp =
    (M+ q(p) - 1)/(1-p)`` with ``q`` increasing, and ``M+ -> 1`` as ``p -> 1``, so ``M+`` cannot increase
    where it is above 1), hence **``lo >= p0`` exactly when the test passed** and ``hi <= p0`` exactly when it
    failed (given ``min_valid``).  The bounds are reported at the moment of the decision (or at the end
    when undecided); bounds evaluated at a stopping time are valid confidence intervals.

    The guarantee assumes errors occur independently of what the sample's outcome would have been.

Early stopping
--------------
:meth:`SequentialVerdict.decided` is true as soon as exactly one final verdict is still reachable by any
continuation of the run (curtailment), so stopping early never changes the verdict compared with running
all ``n`` samples.  For ``k_of_n`` with the default ``min_valid`` this is: ``passes >= required`` (pass),
``failures > n - required`` (fail), or ``passes + errors >= required > passes + remaining`` (error).
In ``confident`` mode it is a crossing, or neither crossing being reachable any more (futility) with the
inconclusive/error classification already fixed.  No verdict is ever decided before the first sample, so
the body always runs at least once.

Waves
-----
The runner runs ``next_wave_size(max_parallel)`` samples, :meth:`~SequentialVerdict.add` s every outcome
(samples added after the decision are counted but cannot change the verdict), then asks
:meth:`~SequentialVerdict.decided`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..errors import ConfigError

MODES = ("k_of_n", "confident")
INTERVALS = ("wilson", "clopper-pearson")
OUTCOMES = ("pass", "fail", "error")
VERDICTS = ("passed", "failed", "error", "inconclusive")
SPEC_KEYS = ("n", "min_pass_rate", "mode", "confidence", "early_stop", "interval", "min_valid")
DEFAULT_MIN_VALID = 1
_SCIPY_CI_METHOD = {"wilson": "wilson", "clopper-pearson": "exact"}
_EXAMPLE = "e.g. @pytest.mark.sampling(n=10, min_pass_rate=0.8)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range (10**400) is no usable rate or confidence
        return False


@dataclass(frozen=True)
class SamplingSpec:
    """A validated ``@pytest.mark.sampling(...)``.  Construction validates (raises :class:`ConfigError`).

    ``min_valid``: minimum number of valid (pass/fail) samples for a ``passed``/``failed`` verdict;
    ``None`` means :data:`DEFAULT_MIN_VALID` (1: an all-error run is ``error``).
    """

    n: int
    min_pass_rate: float
    mode: str = "k_of_n"
    confidence: float = 0.95
    early_stop: bool = True
    interval: str = "wilson"
    min_valid: int | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.n) or self.n < 1:
            raise ConfigError(f"sampling marker: 'n' must be an integer >= 1, got {self.n!r}; {_EXAMPLE}")
        if not _is_real(self.min_pass_rate) or not 0.0 <= self.min_pass_rate <= 1.0:
            raise ConfigError(
                f"sampling marker: 'min_pass_rate' must be a number in [0, 1], got {self.min_pass_rate!r}; {_EXAMPLE}"
            )
        if self.mode not in MODES:
            raise ConfigError(f"sampling marker: unknown 'mode' {self.mode!r}; use one of: {', '.join(MODES)}")
        if not _is_real(self.confidence) or not 0.0 < self.confidence < 1.0:
            raise ConfigError(
                f"sampling marker: 'confidence' must be a number strictly between 0 and 1, "
                f"got {self.confidence!r}; e.g. confidence=0.95"
            )
        if not isinstance(self.early_stop, bool):
            raise ConfigError(f"sampling marker: 'early_stop' must be True or False, got {self.early_stop!r}")
        if self.interval not in INTERVALS:
            raise ConfigError(
                f"sampling marker: unknown 'interval' {self.interval!r}; use one of: {', '.join(INTERVALS)}"
            )
        if self.min_valid is not None and (not _is_int(self.min_valid) or not 0 <= self.min_valid <= self.n):
            raise ConfigError(
                f"sampling marker: 'min_valid' must be an integer between 0 and n={self.n}, got {self.min_valid!r}"
            )

    @property
    def alpha(self) -> float:
        """Error probability ``1 - confidence``."""
        return 1.0 - self.confidence

    @property
    def effective_min_valid(self) -> int:
        return DEFAULT_MIN_VALID if self.min_valid is None else self.min_valid

    @property
    def required_passes(self) -> int:
        """``ceil(min_pass_rate * n)`` on the decimal the user wrote (0.7 * 10 -> 7)."""
        return required_passes(self.min_pass_rate, self.n)


def required_passes(min_pass_rate: float, n: int) -> int:
    """``ceil(min_pass_rate * n)`` without binary floating-point error (``0.7 * 10 == 7.000000000000001``)."""
    return math.ceil(Fraction(repr(float(min_pass_rate))) * n)


def validate_spec(**marker_kwargs: Any) -> SamplingSpec:
    """Build a :class:`SamplingSpec` from the marker's keyword arguments; raises :class:`ConfigError`.

    The message names the bad key and, for unknown keys, lists the valid ones; the caller adds the test id.
    """
    for key in marker_kwargs:
        if key not in SPEC_KEYS:
            close = difflib.get_close_matches(key, SPEC_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"sampling marker: unknown argument {key!r}{hint}; valid arguments are: {', '.join(SPEC_KEYS)}"
            )
    for key in ("n", "min_pass_rate"):
        if key not in marker_kwargs:
            raise ConfigError(f"sampling marker: missing required argument {key!r}; {_EXAMPLE}")
    return SamplingSpec(**marker_kwargs)


# ----------------------------------------------------------------------------------------------------------
# confident mode: mixture martingales
# ----------------------------------------------------------------------------------------------------------


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
def _boundaries(p0: float, alpha: float, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
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


# ----------------------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------------------


@dataclass
class SamplingResult:
    """The verdict of a sampled test and the numbers behind it (``to_dict()`` gives plain builtins)."""

    verdict: str
    n_planned: int
    n_run: int
    passes: int
    failures: int
    errors: int
    rate: float | None
    interval: tuple[float, float] | None
    interval_method: str
    confidence: float
    rule: str
    required_passes: int | None
    stopped_early: bool
    anytime_bounds: tuple[float, float] | None = None
    mode: str = "k_of_n"
    min_pass_rate: float = 0.0
    decided_after: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "mode": self.mode,
            "min_pass_rate": float(self.min_pass_rate),
            "n_planned": int(self.n_planned),
            "n_run": int(self.n_run),
            "passes": int(self.passes),
            "failures": int(self.failures),
            "errors": int(self.errors),
            "rate": None if self.rate is None else float(self.rate),
            "interval": None if self.interval is None else [float(x) for x in self.interval],
            "interval_method": self.interval_method,
            "confidence": float(self.confidence),
            "rule": self.rule,
            "required_passes": None if self.required_passes is None else int(self.required_passes),
            "stopped_early": bool(self.stopped_early),
            "decided_after": None if self.decided_after is None else int(self.decided_after),
            "anytime_bounds": None if self.anytime_bounds is None else [float(x) for x in self.anytime_bounds],
            "reason": self.reason,
        }


def proportion_interval(passes: int, valid: int, confidence: float, interval: str) -> tuple[float, float] | None:
    """Two-sided interval from ``scipy.stats.binomtest(...).proportion_ci``; ``None`` without valid samples."""
    if valid <= 0:
        return None
    from scipy.stats import binomtest

    ci = binomtest(passes, valid).proportion_ci(confidence_level=confidence, method=_SCIPY_CI_METHOD[interval])
    return float(ci.low), float(ci.high)


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


def _num(x: float) -> str:
    """Short form of a rate that does not lie (0.9999999999999999 stays itself, 0.8 stays 0.8)."""
    short = f"{x:g}"
    return short if float(short) == x else repr(float(x))


def describe_rule(spec: SamplingSpec) -> str:
    """Human-readable decision rule, e.g. ``"k_of_n: >= 8 of 10 pass"``."""
    if spec.mode == "k_of_n":
        return f"k_of_n: >= {spec.required_passes} of {spec.n} pass"
    return (
        f"confident: pass rate >= {_num(spec.min_pass_rate)} at {_pct(spec.confidence)} anytime-valid confidence "
        f"(mixture SPRT), at most {spec.n} samples"
    )


# ----------------------------------------------------------------------------------------------------------
# the sequential verdict
# ----------------------------------------------------------------------------------------------------------


class SequentialVerdict:
    """Feed sample outcomes, ask whether the verdict is settled, get the result.

    ``result()`` may be called at any time; if the run stopped while the verdict was still open (e.g. the
    runner hit an infrastructure error it cannot continue past), the samples never run count as errors.
    """

    def __init__(self, spec: SamplingSpec) -> None:
        self.spec = spec
        self.passes = 0
        self.failures = 0
        self.errors = 0
        self._n_run = 0
        self._verdict: str | None = None
        self._decided_counts: tuple[int, int, int] | None = None
        self._min_valid = spec.effective_min_valid
        if spec.mode == "k_of_n":
            self._required = spec.required_passes
        else:
            self._pass_bound, self._fail_bound = _boundaries(float(spec.min_pass_rate), spec.alpha, spec.n)

    # --- counting -------------------------------------------------------------------------------------
    @property
    def n_run(self) -> int:
        return self._n_run

    @property
    def valid(self) -> int:
        return self.passes + self.failures

    def add(self, outcome: str) -> None:
        """Record one sample's outcome: ``"pass"``, ``"fail"`` or ``"error"``."""
        if outcome not in OUTCOMES:
            raise ValueError(f"sample outcome must be one of {OUTCOMES}, got {outcome!r}")
        if self._n_run >= self.spec.n:
            raise ValueError(f"all n={self.spec.n} samples were already added")
        self._n_run += 1
        if outcome == "pass":
            self.passes += 1
        elif outcome == "fail":
            self.failures += 1
        else:
            self.errors += 1
        if self._verdict is None:
            settled = self._settled_verdict()
            if settled is not None:
                self._verdict = settled
                self._decided_counts = (self.passes, self.failures, self.errors)

    # --- decisions ------------------------------------------------------------------------------------
    def decided(self) -> bool:
        """True when the verdict can no longer change (always False before the first sample); with
        ``early_stop=False`` only once all ``n`` samples ran."""
        n_run, n = self._n_run, self.spec.n
        if n_run == 0:
            return False
        if n_run >= n:
            return True
        return self.spec.early_stop and self._verdict is not None

    def remaining(self) -> int:
        """Samples still to run at most (0 once decided)."""
        return 0 if self.decided() else self.spec.n - self.n_run

    def next_wave_size(self, max_parallel: int) -> int:
        """How many samples to run in the next wave: ``min(max_parallel, remaining())``."""
        return max(0, min(int(max_parallel), self.remaining()))

    def _settled_verdict(self) -> str | None:
        reachable = self._reachable_verdicts()
        return next(iter(reachable)) if len(reachable) == 1 else None

    def _reachable_verdicts(self) -> set[str]:
        """Final verdicts some continuation of the run (the ``n - n_run`` samples left) can still produce."""
        s, f, e = self.passes, self.failures, self.errors
        r, m = self.spec.n - self._n_run, self._min_valid
        out: set[str] = set()
        if self.spec.mode == "k_of_n":
            req = self._required
            if s + r >= req and s + f + r >= m:  # every sample left passes
                out.add("passed")
            if s + e < req and s + f + r >= m:  # every sample left fails
                out.add("failed")
            if s + f < m or s < req <= s + e + r:  # every sample left errors
                out.add("error")
            return out
        pb, fb = self._pass_bound, self._fail_bound
        if s + f >= m:  # a crossing now latches the verdict
            if s >= pb[f]:
                return {"passed"}
            if f >= fb[s]:
                return {"failed"}
        if s + r >= pb[f] and s + f + r >= m:
            out.add("passed")
        if f + r >= fb[s] and s + f + r >= m:
            out.add("failed")
        if out:
            # the all-error continuation never crosses, so some end state is reachable too
            out.add("open")
            return out
        # No crossing is reachable: the end state depends only on the final counts.
        if self._end_state(s, f, e + r) == "error":
            out.add("error")
        if s + f + r >= m:  # errors only push towards "error"; try every pass/fail split of the rest
            for a in range(r + 1):
                if self._end_state(s + a, f + r - a, e) == "inconclusive":
                    out.add("inconclusive")
                    break
        return out

    def _end_state(self, s: int, f: int, e: int) -> str:
        """Confident mode, all slots used without a crossing: error if the errors are to blame."""
        if s + f < self._min_valid:
            return "error"
        if s + e >= self._pass_bound[f] or f + e >= self._fail_bound[s]:
            return "error"
        return "inconclusive"

    def _final_verdict(self, s: int, f: int, e: int) -> str:
        """Verdict of a finished run that never latched (used for interrupted runs)."""
        if self.spec.mode == "k_of_n":
            if s + f < self._min_valid:
                return "error"
            if s >= self._required:
                return "passed"
            return "failed" if s + e < self._required else "error"
        return self._end_state(s, f, e)

    # --- result ---------------------------------------------------------------------------------------
    def verdict(self) -> str:
        """Just the verdict :meth:`result` would report (cheap: no intervals, no scipy)."""
        if self._verdict is not None:
            return self._verdict
        return self._final_verdict(self.passes, self.failures, self.errors + self.spec.n - self.n_run)

    def result(self) -> SamplingResult:
        """The final verdict and its numbers (call when ``decided()`` or when all ``n`` samples ran)."""
        spec = self.spec
        s, f, e = self.passes, self.failures, self.errors
        verdict = self.verdict()
        if self._verdict is not None:
            ds, df, de = self._decided_counts  # type: ignore[misc]
            decided_after: int | None = ds + df + de
        else:  # interrupted: the samples never run count as errors
            ds, df, de = s, f, e
            decided_after = None
        valid = s + f
        bounds = None
        if spec.mode == "confident":
            bounds = self._consistent_bounds(ds, df, verdict)
        return SamplingResult(
            verdict=verdict,
            n_planned=spec.n,
            n_run=self.n_run,
            passes=s,
            failures=f,
            errors=e,
            rate=(s / valid) if valid else None,
            interval=proportion_interval(s, valid, spec.confidence, spec.interval),
            interval_method=spec.interval,
            confidence=spec.confidence,
            rule=describe_rule(spec),
            required_passes=self._required if spec.mode == "k_of_n" else None,
            stopped_early=self._verdict is not None and self.n_run < spec.n,
            anytime_bounds=bounds,
            mode=spec.mode,
            min_pass_rate=float(spec.min_pass_rate),
            decided_after=decided_after,
            reason=self._reason(verdict, ds, df, de, interrupted=self._verdict is None),
        )

    def _consistent_bounds(self, s: int, f: int, verdict: str) -> tuple[float, float]:
        """Anytime bounds at the decision counts; snapped so ``lo >= p0 <=> passed`` and ``hi <= p0 <=>
        failed`` hold exactly (mathematically they do; this removes root-finding noise at ties)."""
        p0 = float(self.spec.min_pass_rate)
        lo, hi = anytime_bounds(s, f, self.spec.confidence)
        if verdict == "passed":
            lo = max(lo, p0)
        else:
            lo = min(lo, math.nextafter(p0, 0.0)) if p0 > 0.0 else 0.0
        if verdict == "failed":
            hi = min(hi, p0)
        else:
            hi = max(hi, math.nextafter(p0, 1.0)) if p0 < 1.0 else 1.0
        return lo, hi

    def _reason(self, verdict: str, s: int, f: int, e: int, *, interrupted: bool) -> str:
        spec = self.spec
        valid = s + f
        prefix = f"run stopped after {self.n_run} of {spec.n} samples; " if interrupted else ""
        if verdict == "error" and valid < self._min_valid:
            return prefix + f"only {valid} valid sample(s) ({e} errored), {self._min_valid} needed for a verdict"
        if spec.mode == "k_of_n":
            req = self._required
            if verdict == "passed":
                return f"{s} of {spec.n} samples passed (>= {req} required)"
            if verdict == "failed":
                return prefix + f"{f} of {spec.n} samples failed: at most {spec.n - f} can pass, {req} required"
            return prefix + (
                f"{s} passed, {f} failed, {e} errored: the errors left too few samples to reach {req} passes"
            )
        if verdict == "passed":
            if spec.min_pass_rate <= 0:
                return "min_pass_rate 0 holds for any system"
            return f"{s} passed / {f} failed: evidence that the pass rate is >= {_num(spec.min_pass_rate)}"
        if verdict == "failed":
            return f"{s} passed / {f} failed: evidence that the pass rate is < {_num(spec.min_pass_rate)}"
        if verdict == "error":
            return prefix + (f"{s} passed, {f} failed, {e} errored: the errored samples could have decided the verdict")
        extra = " (min_pass_rate 1 can never be shown with finitely many samples)" if spec.min_pass_rate >= 1 else ""
        return prefix + f"{s} passed / {f} failed: not enough evidence either way{extra}"
