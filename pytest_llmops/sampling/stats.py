"""The statistics behind stochastic verdicts in one import: the public names of the sampling modules."""

from __future__ import annotations

from .intervals import proportion_interval
from .mixture import anytime_bounds, log_mixture_minus, log_mixture_plus, smallest_n_that_can_pass
from .result import SamplingResult, describe_rule
from .sequential import OUTCOMES, SequentialVerdict
from .spec import DEFAULT_MIN_VALID, INTERVALS, MODES, SPEC_KEYS, SamplingSpec, required_passes, validate_spec

__all__ = [
    "DEFAULT_MIN_VALID",
    "INTERVALS",
    "MODES",
    "OUTCOMES",
    "SPEC_KEYS",
    "SamplingResult",
    "SamplingSpec",
    "SequentialVerdict",
    "anytime_bounds",
    "describe_rule",
    "log_mixture_minus",
    "log_mixture_plus",
    "proportion_interval",
    "required_passes",
    "smallest_n_that_can_pass",
    "validate_spec",
]
