"""Comparing tool arguments: the four argument modes and the custom comparators (tolerance, regex, anything).

A comparator stands in for an expected value: :func:`approx` (a number within a tolerance), :func:`regex` (a
string matching a pattern), :func:`anything`, or any callable taking the actual value and returning a bool.
Golden files write them as JSON: ``{"$approx": 3.0, "abs": 0.5}``, ``{"$regex": "^kb-0[12]$"}``, ``{"$any": true}``.
Every comparison returns ``None`` when the values match, else a short sentence saying where they differ.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

ARG_MODES = ("exact", "ignore", "subset", "superset")


@dataclass(frozen=True)
class Approx:
    """A number within ``abs`` or ``rel`` of ``value``."""

    value: float
    abs: float = 1e-9
    rel: float = 0.0

    def __call__(self, actual: Any) -> bool:
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        return math.isclose(float(actual), self.value, abs_tol=self.abs, rel_tol=self.rel)

    def __repr__(self) -> str:
        return f"{self.value:g} ± {self.abs if not self.rel else f'{self.rel:g} rel'}"


@dataclass(frozen=True)
class Regex:
    """A string that ``re.search``-es ``pattern`` (anchor it with ``^...$`` for a full match)."""

    pattern: str

    def __call__(self, actual: Any) -> bool:
        return isinstance(actual, str) and re.search(self.pattern, actual) is not None

    def __repr__(self) -> str:
        return f"/{self.pattern}/"


@dataclass(frozen=True)
class Anything:
    """Any value at all (the key must still be there in ``exact``/``superset`` modes)."""

    def __call__(self, actual: Any) -> bool:
        return True

    def __repr__(self) -> str:
        return "<anything>"


def approx(value: float, *, abs: float = 1e-9, rel: float = 0.0) -> Approx:  # noqa: A002 - pytest.approx's names
    return Approx(float(value), float(abs), float(rel))


def regex(pattern: str) -> Regex:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"regex({pattern!r}): not a valid regular expression ({exc})") from None
    return Regex(pattern)


def anything() -> Anything:
    return Anything()


def from_json(value: Any) -> Any:
    """Turn the JSON spellings of comparators (``{"$approx": ...}``, ``{"$regex": ...}``, ``{"$any": true}``) into
    comparators, recursively; everything else is returned unchanged."""
    if isinstance(value, dict):
        if "$approx" in value:
            return approx(value["$approx"], abs=value.get("abs", 1e-9), rel=value.get("rel", 0.0))
        if "$regex" in value:
            return regex(str(value["$regex"]))
        if "$any" in value:
            return anything()
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def is_comparator(value: Any) -> bool:
    return callable(value) and not isinstance(value, type)


def show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dict_problem(expected: dict[str, Any], actual: dict[str, Any], mode: str, where: str) -> str | None:
    missing = [k for k in expected if k not in actual]
    extra = [k for k in actual if k not in expected]
    if missing and mode in ("exact", "superset"):
        return f"{where}missing argument {missing[0]!r} (expected {show(expected[missing[0]])})"
    if extra and mode in ("exact", "subset"):
        return f"{where}unexpected argument {extra[0]!r}={show(actual[extra[0]])}"
    for key in expected:
        if key in actual:
            problem = value_problem(expected[key], actual[key], mode, f"{where}{key}.")
            if problem:
                return problem
    return None


def value_problem(expected: Any, actual: Any, mode: str = "exact", where: str = "") -> str | None:
    """``None`` when ``actual`` matches ``expected`` under ``mode``; else what differs (``where`` = key path)."""
    if mode == "ignore":
        return None
    label = where.rstrip(".") or "value"
    if is_comparator(expected):
        return None if expected(actual) else f"{label}: expected {show(expected)}, got {show(actual)}"
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _dict_problem(expected, actual, mode, where)
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{label}: expected {len(expected)} items, got {len(actual)}"
        for index, (exp, act) in enumerate(zip(expected, actual, strict=True)):
            problem = value_problem(exp, act, mode, f"{where}[{index}].")
            if problem:
                return problem
        return None
    if type(expected) is not type(actual) and not _both_numbers(expected, actual):
        return f"{label}: expected {show(expected)}, got {show(actual)}"
    return None if expected == actual else f"{label}: expected {show(expected)}, got {show(actual)}"


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))


def args_problem(expected: Any, actual: Any, mode: str) -> str | None:
    """Compare two argument sets; arguments that are not a mapping are compared as whole values."""
    if mode not in ARG_MODES:
        raise ConfigError(f"args={mode!r}: expected one of {', '.join(ARG_MODES)}")
    return value_problem(expected, actual, mode, "" if isinstance(expected, dict) else "arguments.")


Comparator = Callable[[Any], bool]
