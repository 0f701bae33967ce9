"""The sequential verdict of a sampled test (``@pytest.mark.sampling``) and the statistics behind it.

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

import math

from .intervals import proportion_interval
from .mixture import anytime_bounds, crossing_boundaries
from .result import SamplingResult, describe_rule, explain_verdict
from .spec import SamplingSpec

OUTCOMES = ("pass", "fail", "error")


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
            self._pass_bound, self._fail_bound = crossing_boundaries(float(spec.min_pass_rate), spec.alpha, spec.n)

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
        r = self.spec.n - self._n_run
        if self.spec.mode == "k_of_n":
            return self._reachable_k_of_n(s, f, e, r)
        return self._reachable_confident(s, f, e, r)

    def _reachable_k_of_n(self, s: int, f: int, e: int, r: int) -> set[str]:
        req, m = self._required, self._min_valid
        out: set[str] = set()
        if s + r >= req and s + f + r >= m:  # every sample left passes
            out.add("passed")
        if s + e < req and s + f + r >= m:  # every sample left fails
            out.add("failed")
        if s + f < m or s < req <= s + e + r:  # every sample left errors
            out.add("error")
        return out

    def _reachable_confident(self, s: int, f: int, e: int, r: int) -> set[str]:
        pb, fb, m = self._pass_bound, self._fail_bound, self._min_valid
        out: set[str] = set()
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
            reason=explain_verdict(spec, verdict, (ds, df, de), n_run=self.n_run, interrupted=self._verdict is None),
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
