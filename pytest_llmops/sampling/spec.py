"""The validated ``@pytest.mark.sampling(...)`` arguments (:class:`SamplingSpec`) and the k-of-n pass count."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..errors import ConfigError

MODES = ("k_of_n", "confident")
INTERVALS = ("wilson", "clopper-pearson")
SPEC_KEYS = ("n", "min_pass_rate", "mode", "confidence", "early_stop", "interval", "min_valid")
DEFAULT_MIN_VALID = 1
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
