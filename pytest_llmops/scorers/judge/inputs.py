"""Checks of the judge's arguments: configuration mistakes raise ConfigError, a non-text output fails the test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ...errors import ConfigError


def need_text(value: Any, what: str, where: str) -> str:
    """``value`` if it is a non-empty string (criteria, reference), else ConfigError."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {what} must be a non-empty string, got {type(value).__name__} {str(value)[:80]!r}")
    return value


def judged_text(value: Any, what: str, where: str) -> str:
    """The text under test: anything but a string is the app's fault (AssertionError, a failed test)."""
    if not isinstance(value, str):
        raise AssertionError(f"{where}: the {what} to judge is {type(value).__name__} {str(value)[:80]!r}, not text")
    return value


def context_list(context: str | Sequence[str] | None, where: str) -> list[str]:
    """``context`` (None, one string or a sequence of strings) as a list of strings."""
    if context is None:
        return []
    if isinstance(context, str):
        return [context]
    if not isinstance(context, Sequence):
        raise ConfigError(f"{where}: context must be a string or a list of strings, got {type(context).__name__}")
    for index, item in enumerate(context):
        if not isinstance(item, str):
            raise ConfigError(f"{where}: context[{index}] is {type(item).__name__}, not str")
    return list(context)


def check_scale(scale: Any, where: str) -> tuple[int, int]:
    """``scale`` as ``(low, high)`` integers with ``low < high`` at most 100 apart, else ConfigError."""
    if (
        not isinstance(scale, (tuple, list))
        or len(scale) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in scale)
        or not scale[0] < scale[1]
        or scale[1] - scale[0] > 100
    ):
        raise ConfigError(
            f"{where}: scale must be two integers (low, high) with low < high, e.g. (1, 5); got {scale!r}"
        )
    return int(scale[0]), int(scale[1])


def check_min_score(min_score: Any, low: int, high: int, where: str) -> float | None:
    """``min_score`` as a float on the scale ``low..high`` (None stays None), else ConfigError."""
    if min_score is None:
        return None
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not low <= min_score <= high:
        raise ConfigError(f"{where}: min_score must be a number on the scale {low}..{high}, got {min_score!r}")
    return float(min_score)


def check_min_share(min_score: Any, where: str) -> float | None:
    """``min_score`` as a share between 0 and 1 (None stays None), else ConfigError."""
    if min_score is not None and (
        isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1
    ):
        raise ConfigError(f"{where}: min_score must be a share between 0 and 1, got {min_score!r}")
    return None if min_score is None else float(min_score)


def check_settings(samples: Any, temperature: Any, where: str) -> None:
    """ConfigError unless ``samples`` is a positive int and ``temperature`` a finite number >= 0 that varies
    the answers when ``samples > 1``."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"{where}: samples must be a positive integer, got {samples!r}")
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not math.isfinite(temperature)
        or temperature < 0
    ):
        raise ConfigError(f"{where}: temperature must be a number >= 0, got {temperature!r}")
    if samples > 1 and temperature <= 0:
        raise ConfigError(
            f"{where}: samples={samples} at temperature {temperature!r} would average copies of one answer; "
            "use temperature > 0 (e.g. 1.0) or samples=1"
        )
