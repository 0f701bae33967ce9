"""The outcome of a sampled test (:class:`SamplingResult`) and the words that describe its rule and verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .passk import pass_k_table
from .spec import SamplingSpec


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
            "pass_k": pass_k_table(int(self.passes + self.failures), int(self.passes)),
        }


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


def explain_verdict(
    spec: SamplingSpec, verdict: str, counts: tuple[int, int, int], *, n_run: int, interrupted: bool
) -> str:
    """One sentence on why ``verdict`` was reached with ``counts`` = (passes, failures, errors) at the decision."""
    s, f, e = counts
    min_valid = spec.effective_min_valid
    valid = s + f
    prefix = f"run stopped after {n_run} of {spec.n} samples; " if interrupted else ""
    if verdict == "error" and valid < min_valid:
        return prefix + f"only {valid} valid sample(s) ({e} errored), {min_valid} needed for a verdict"
    if spec.mode == "k_of_n":
        req = spec.required_passes
        if verdict == "passed":
            return f"{s} of {spec.n} samples passed (>= {req} required)"
        if verdict == "failed":
            return prefix + f"{f} of {spec.n} samples failed: at most {spec.n - f} can pass, {req} required"
        return prefix + (f"{s} passed, {f} failed, {e} errored: the errors left too few samples to reach {req} passes")
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
