"""The nightly history as the diff's noise model: ``pytest-llmops diff BASE HEAD --history DIR...`` and
``pytest --llmops-baseline=BASE --llmops-history=DIR``.

The run records of a nightly series (files or directories) are read once into a
:class:`~.history_noise.NoiseModel`: how much each figure moves between two runs when nothing changed
(change points and level shifts left out).  The diff is decided exactly as without a history — the same
comparisons, the same family, the same multiplicity correction at the same α, so the run-level verdict's
error control is unchanged — and then every regression is checked against the nightly noise of its own
series.  The history only raises the bar: a regression can become "within nightly noise", noise never
becomes a regression.

Rules, per regression kind (the row says which one applied, and with what figures):

* ``outcome`` (a deterministic test passed → failed, or a sampled verdict flip counted as a regression) and
  unconfirmed flips (one live sample): a test the history labels **flaky** or **borderline** is held back
  ("within nightly noise: flaky, 7 flip(s) in 30 runs (flip rate 0.24, 95% CI 0.12–0.42)").  A ``stable``
  or ``changed`` test stays a regression, and the row says how often it flipped.
* ``sampled``: the pass-rate drop must also be larger than the q95 of the test's run-to-run change of its
  sampled pass rate; ``golden-passfail`` / ``golden-metric``: the golden set's pass-rate drop / its metric
  mean's worsening must be larger than the q95 of that set's run-to-run change; ``metric-threshold``: every
  newly missed metric's worsening must be larger than the q95 of that test's metric.  Otherwise: "within
  nightly noise: … ≤ q95 ±x over N run-to-run changes".
* whole-run ``cost`` / ``tokens`` / ``latency``: the rise must be larger than
  max(the option's %, 100·(e^q95 − 1) %), q95 being the nightly run-to-run change of the total's logarithm.
* a series with fewer than :data:`MIN_RUNS` runs in the history (fewer than ``MIN_RUNS - 1`` run-to-run
  changes, or a test judged in fewer runs), or one the history does not have, is not used: the finding keeps
  today's verdict, and its row and the header say why.

Not judged against the history (no nightly series of the same figure): per-test and per-golden-set cost and
tokens, the single live tests' pass rate (``run-passrate``), metric means with ``--fail-on`` tolerances,
aggregate checks and prompt edits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ReportError
from .family import Comparison
from .findings import Finding, GoldenGroup, RunSide
from .format import rel_change
from .history_noise import NoiseModel, SeriesNoise, observed_noise
from .options import DiffOptions
from .views import FAIL, PASS, TestView

MIN_RUNS = 5
HELD_KIND = "nightly-noise"
WITHIN = "within nightly noise: "
_NOISY_LABELS = ("flaky", "borderline")
_RUN_SERIES = {"cost": "cost_usd", "tokens": "tokens", "latency": "p95_latency_s"}

# (reason it is within nightly noise, or None; text added to a finding that stays a regression, or None)
Judgement = tuple[str | None, str | None]


def load_history(paths: Sequence[str | Path]) -> NoiseModel:
    """The noise model of the nightly records under ``paths``; ConfigError naming the path when unusable."""
    if not paths:
        raise ConfigError("--history: give at least one run record or directory of run records")
    try:
        return observed_noise(list(paths))
    except (ReportError, OSError) as exc:
        raise ConfigError(f"history {', '.join(str(p) for p in paths)}: {exc} "
                          "(pass nightly run records, or directories of them)") from None


@dataclass
class HistoryUse:
    """What the history did to this diff, for the header and the JSON output."""

    runs: int
    sources: list[str]
    held: int = 0  # regressions (and unconfirmed flips) found within nightly noise
    too_short: list[str] = field(default_factory=list)  # series consulted but too short to use
    absent: list[str] = field(default_factory=list)  # tests / series consulted that the history does not have

    def text(self) -> str:
        text = (f"history of {self.runs} run(s) used as the noise model ({', '.join(self.sources)}): "
                f"{self.held} finding(s) within nightly noise")
        for what, names in ((f"history too short (fewer than {MIN_RUNS} runs) for", self.too_short),
                            ("not in the history", self.absent)):
            if names:
                shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                text += f"; {what}: {shown} (judged without it)"
        return text


@dataclass
class HistoryInputs:
    """What the history rules need from the diff."""

    family: list[Comparison]
    groups: list[GoldenGroup]
    base_views: dict[str, TestView]
    head_views: dict[str, TestView]
    base: RunSide
    head: RunSide


@dataclass
class _Judge:
    model: NoiseModel
    options: DiffOptions
    inputs: HistoryInputs
    use: HistoryUse
    family: dict[tuple[str, str, str | None], Comparison] = field(default_factory=dict)

    def usable(self, name: str, series: SeriesNoise | None) -> Judgement | SeriesNoise:
        if series is None:
            self.use.absent.append(name)
            return None, "no nightly series for it in the history: judged without it"
        if series.n + 1 < MIN_RUNS or series.q95 is None:
            self.use.too_short.append(name)
            return None, (f"history too short for it ({series.n} run-to-run change(s), fewer than {MIN_RUNS} "
                          "runs): judged without it")
        return series

    def band(self, name: str, series: SeriesNoise | None, change: float, fmt: Callable[[float], str]) -> Judgement:
        found = self.usable(name, series)
        if not isinstance(found, SeriesNoise):
            return found
        band = f"q95 ±{fmt(found.q95 or 0.0)} over {found.n} run-to-run changes"
        if abs(change) <= (found.q95 or 0.0):
            return f"{WITHIN}{fmt(change)} ≤ {band}", None
        return None, f"beyond nightly noise ({band})"

    def label(self, nodeid: str) -> Judgement:
        test = self.model.tests.get(nodeid)
        if test is None:
            self.use.absent.append(nodeid)
            return None, "not in the history: judged without it"
        if test.runs < MIN_RUNS:
            self.use.too_short.append(nodeid)
            return None, f"history too short for it ({test.runs} judged run(s) < {MIN_RUNS}): judged without it"
        rate = "" if test.flip_rate is None else f" (flip rate {test.flip_rate:.2f}"
        if rate and test.flip_interval is not None:
            rate += f", 95% CI {test.flip_interval[0]:.2f}–{test.flip_interval[1]:.2f}"
        flips = f"{test.label}, {test.flips} flip(s) in {test.runs} runs{rate + ')' if rate else ''}"
        if test.label in _NOISY_LABELS:
            return f"{WITHIN}{flips}", None
        return None, f"history: {flips}"


def _pp(x: float) -> str:
    return f"{x * 100:.1f} pp"


def _num(x: float) -> str:
    return f"{x:.4g}"


def _group(judge: _Judge, key: str) -> GoldenGroup | None:
    return next((g for g in judge.inputs.groups if g.key == key), None)


def _golden(judge: _Judge, f: Finding) -> Judgement:
    group = _group(judge, f.subject)
    if group is None:
        return None, None
    if f.kind == "golden-passfail":
        drop = (group.base_passes - group.head_passes) / max(group.judged_pairs, 1)
        return judge.band(f"{group.path}: pass rate", judge.model.golden.get((group.path, "pass rate")), drop, _pp)
    metric = next((m for m in group.metrics if m.name == f.metric), None)
    if metric is None:
        return None, None
    worse = (metric.base_mean - metric.head_mean) * (1 if metric.higher_is_better else -1)
    return judge.band(f"{group.path}: {metric.name}", judge.model.golden.get((group.path, metric.name)), worse, _num)


def _sampled(judge: _Judge, f: Finding) -> Judgement:
    c = judge.family.get((f.kind, f.subject, f.metric))
    test = judge.model.tests.get(f.subject)
    if c is None:
        return None, None
    return judge.band(f"{f.subject} (sampled pass rate)", test.sampled_rate if test else None, c.effect, _pp)


def _metric_threshold(judge: _Judge, f: Finding) -> Judgement:
    b, h = judge.inputs.base_views.get(f.subject), judge.inputs.head_views.get(f.subject)
    test = judge.model.tests.get(f.subject)
    if b is None or h is None:
        return None, None
    missed = sorted(n for n, ok in h.metric_passed.items() if not ok and b.metric_passed.get(n) is True)
    held, kept = [], []
    for name in missed:
        sign = -1 if name in b.lower_is_better or name in h.lower_is_better else 1
        worse = sign * (b.metrics.get(name, 0.0) - h.metrics.get(name, 0.0))
        reason, note = judge.band(f"{f.subject}: {name}", test.metrics.get(name) if test else None, worse, _num)
        (held if reason else kept).append(f"{name} {(reason or '').removeprefix(WITHIN) or note}")
    if missed and not kept:
        return WITHIN + "; ".join(held), None
    return None, "; ".join(kept + held) or None


def _growth(judge: _Judge, f: Finding) -> Judgement:
    if f.subject != "whole run":
        return None, None
    key = _RUN_SERIES[f.kind]
    found = judge.usable(f"run {key}", judge.model.run.get(key))
    if not isinstance(found, SeriesNoise):
        return found
    c = judge.family.get((f.kind, f.subject, f.metric))
    rise = c.effect if c is not None else rel_change(getattr(judge.inputs.base, key), getattr(judge.inputs.head, key))
    if rise is None:
        return None, None
    pct = {"cost": judge.options.cost_pct, "tokens": judge.options.tokens_pct}.get(f.kind, judge.options.latency_pct)
    nightly = 100 * (math.exp(found.q95 or 0.0) - 1)
    limit = max(pct, nightly)
    band = (f"limit +{limit:.1f}% = max(option +{pct:g}%, nightly q95 +{nightly:.1f}% over {found.n} run-to-run "
            "changes)")
    if rise * 100 <= limit:
        return f"{WITHIN}{rise * 100:+.1f}% ≤ {band}", None
    return None, f"beyond nightly noise ({band})"


_RULES: dict[str, Callable[[_Judge, Finding], Judgement]] = {
    "outcome": lambda judge, f: judge.label(f.subject),
    "sampled": _sampled,
    "golden-passfail": _golden,
    "golden-metric": _golden,
    "metric-threshold": _metric_threshold,
    "cost": _growth,
    "tokens": _growth,
    "latency": _growth,
}


def _held(f: Finding, reason: str) -> Finding:
    return Finding(HELD_KIND, f.subject, f.base, f.head, f"{f.label} {reason}; {f.detail}".rstrip("; "),
                   magnitude=f.magnitude, metric=f.metric, items=list(f.items))


def _split(findings: list[Finding], judge_one: Callable[[Finding], Judgement]) -> tuple[list[Finding], list[Finding]]:
    """(findings that keep their verdict, with the history's note added; findings within nightly noise)."""
    kept, held = [], []
    for f in findings:
        reason, note = judge_one(f)
        if reason:
            held.append(_held(f, reason))
            continue
        if note:
            f.detail = f"{f.detail}; {note}".lstrip("; ")
        kept.append(f)
    return kept, held


def apply_history(options: DiffOptions, inputs: HistoryInputs, regressions: list[Finding],
                  unconfirmed: list[Finding]) -> tuple[list[Finding], list[Finding], list[Finding], HistoryUse]:
    """(regressions kept, findings within nightly noise, unconfirmed flips kept, what the history did)."""
    assert options.history is not None
    judge = _Judge(options.history, options, inputs,
                   HistoryUse(options.history.runs, [str(s) for s in options.history_sources]),
                   {(c.kind, c.subject, c.metric): c for c in inputs.family})
    kept, held = _split(regressions, lambda f: _RULES[f.kind](judge, f) if f.kind in _RULES else (None, None))
    still, held_flips = _split(unconfirmed, lambda f: judge.label(f.subject) if f.base in PASS and f.head == FAIL
                               else (None, None))
    judge.use.held = len(held) + len(held_flips)
    judge.use.too_short = sorted(set(judge.use.too_short))
    judge.use.absent = sorted(set(judge.use.absent))
    return kept, [*held, *held_flips], still, judge.use
