"""The thresholds of a diff (:class:`DiffOptions`); ``--fail-on`` rules and CLI flags set them.

``history``: the noise model of a nightly series (``--history DIR``, :func:`.history_review.load_history`);
with it, a regression must also exceed what the series shows (:mod:`.history_review`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .history_noise import NoiseModel


@dataclass(frozen=True)
class DiffOptions:
    """Thresholds of the diff.  Percentages are increases relative to base (20.0 means +20%)."""

    alpha: float = 0.05
    cost_pct: float = 20.0
    tokens_pct: float = 20.0
    latency_pct: float = 50.0
    per_test_cost: bool = True
    min_test_cost_delta_usd: float = 0.001
    min_test_tokens_delta: int = 100
    # p95 latency must also grow by this much: loopback/replay jitter is not a regression
    min_latency_delta_s: float = 0.25
    metric_tolerances: dict[str, tuple[float, bool]] = field(default_factory=dict)  # name -> (amount, relative)
    prompt_edit_is_regression: bool = True
    sampled_flip_is_regression: bool = False
    # multiplicity correction over all statistical comparisons of the diff: fdr (Benjamini–Hochberg), by
    # (Benjamini–Yekutieli), holm (family-wise) or none
    correction: str = "fdr"
    # practical threshold: a comparison whose minimum detectable effect (80% power) is larger is "inconclusive".
    # Pass rates: absolute (0.15 = 15 points); metric scores: relative to the base mean (absolute when it is 0)
    min_effect: float = 0.15
    # nightly noise model (--history): a regression must also exceed the series' run-to-run noise
    history: NoiseModel | None = field(default=None, compare=False, repr=False)
    history_sources: tuple[str, ...] = ()
