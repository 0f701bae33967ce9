"""The per-test record: what a test measured, called and used.

One :class:`TestRecorder` exists per test item that touches an llmops feature.  Scorers, the model-call
layer, the sampling runner, prompts and goldens all write into it through :func:`current_test`; the plugin
turns it into plain builtins (:meth:`TestRecorder.to_dict`) that ride on pytest's test report, so the same
data reaches the controller under xdist.  This module imports nothing heavy and nothing from pytest.
"""

from __future__ import annotations

import contextvars
import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RecorderError

_current: TestRecorder | None = None
_active_nodeid: str | None = None
_sample_index: contextvars.ContextVar[int] = contextvars.ContextVar("llmops_sample_index", default=0)
ExchangeProvider = Callable[[], dict[str, dict[str, Any]]]
_exchange_provider: ExchangeProvider | None = None


def current_test() -> TestRecorder | None:
    """The recorder of the test running in this process (created on first use), or ``None`` outside a test."""
    global _current
    if _current is None and _active_nodeid is not None:
        _current = TestRecorder(_active_nodeid)
    return _current


def peek_current_test() -> TestRecorder | None:
    """The running test's recorder if anything created it; never creates one."""
    return _current


def begin_test(nodeid: str) -> None:
    """Mark ``nodeid`` as the running test; its recorder is created lazily by :func:`current_test`."""
    global _current, _active_nodeid
    _current, _active_nodeid = None, nodeid


def end_test() -> TestRecorder | None:
    """Forget the running test and return its recorder (``None`` if no feature touched it)."""
    global _current, _active_nodeid
    recorder, _current, _active_nodeid = _current, None, None
    return recorder


def current_sample_index() -> int:
    """Index of the sample being run (0 outside sampled tests); part of every replay key."""
    return _sample_index.get()


def set_sample_index(index: int) -> contextvars.Token[int]:
    return _sample_index.set(index)


def set_exchange_provider(provider: ExchangeProvider | None) -> ExchangeProvider | None:
    """Where the running test's recorded calls (full replay key -> recording) come from; returns the previous one.

    The plugin points this at the call engine's cassette, so :meth:`TestRecorder.trajectory` can read the
    requests and responses of the calls the recorder metered.
    """
    global _exchange_provider
    previous, _exchange_provider = _exchange_provider, provider
    return previous


def bound_parts(low: float | None, high: float | None, *, space: str = " ") -> list[str]:
    """A metric's bounds as text: ``[">= 0.3", "<= 1"]`` (``space=""`` gives ``">=0.3"``)."""
    parts = []
    if low is not None:
        parts.append(f">={space}{low:g}")
    if high is not None:
        parts.append(f"<={space}{high:g}")
    return parts


# One recorded metric, and also the run record's ``Metric``: pydantic validates this dataclass directly (no
# docstring: it would become the schema's description).
@dataclass
class Metric:
    __pydantic_config__ = {"extra": "forbid"}

    name: str
    value: float
    min: float | None = None
    max: float | None = None
    passed: bool | None = None
    scorer: str | None = None
    sample: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "passed": self.passed,
            "scorer": self.scorer,
            "sample": self.sample,
            "details": self.details,
        }

    def describe(self) -> str:
        bounds = bound_parts(self.min, self.max)
        verdict = "" if self.passed is None else (" ok" if self.passed else " FAIL")
        return f"{self.name}={self.value:.4g}" + (f" (need {' and '.join(bounds)})" if bounds else "") + verdict


def _finite(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy scalars and the like
        except (TypeError, ValueError):
            raise RecorderError(f"{what} {name!r}: expected a number, got {type(value).__name__} {value!r}") from None
    value = float(value)
    if not math.isfinite(value):
        raise RecorderError(f"{what} {name!r}: value {value!r} is not finite; record a finite number")
    return value


def ensure_json(name: str, value: Any) -> Any:
    """Return ``value`` if it survives a JSON round trip unchanged in kind, else raise RecorderError."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecorderError(
            f"artifact {name!r} is not JSON-serializable ({exc}); pass str, numbers, bools, None, lists or dicts"
        ) from None
    return value


class TestRecorder:
    """Collects what one test measured.  Public methods are safe to call from several threads."""

    __test__ = False  # not a test class, even though the name starts with "Test"

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self._lock = threading.Lock()
        self.metrics: list[Metric] = []
        self.notes: list[str] = []
        self.artifacts: dict[str, Any] = {}
        self.calls: list[dict[str, Any]] = []
        self.prompts: list[dict[str, Any]] = []
        self.golden: dict[str, Any] | None = None
        self.sampling: dict[str, Any] | None = None
        self.budget: dict[str, Any] | None = None
        self.recordings: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.trajectory_steps: list[dict[str, Any]] | None = None  # frozen at the end of the test
        self.conversation: dict[str, Any] | None = None

    # -- what tests and scorers call -------------------------------------------------------------
    def metric(
        self,
        name: str,
        value: float,
        *,
        min: float | None = None,
        max: float | None = None,
        scorer: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Metric:
        """Record a measured value and, when bounds are given, whether it is within them.

        Recording never raises on a miss: the caller (or a scorer's ``assert_*``) decides whether a miss
        fails the test.  ``llmops.metric(..., min=...)`` used directly from a test does not fail the test by
        itself; use ``llmops.check(...)`` for that.
        """
        if not isinstance(name, str) or not name:
            raise RecorderError(f"metric name must be a non-empty string, got {name!r}")
        value = _finite(name, value, "metric")
        lo = None if min is None else _finite(name, min, "metric min for")
        hi = None if max is None else _finite(name, max, "metric max for")
        passed = None
        if lo is not None or hi is not None:
            passed = (lo is None or value >= lo) and (hi is None or value <= hi)
        sample = current_sample_index() if self.sampling is not None else None
        result = Metric(name, value, lo, hi, passed, scorer, sample, ensure_json(name, details or {}))
        with self._lock:
            self.metrics.append(result)
        return result

    def check(self, name: str, value: float, *, min: float | None = None, max: float | None = None) -> Metric:
        """Like :meth:`metric`, and fail the test (AssertionError) when the value is out of bounds."""
        result = self.metric(name, value, min=min, max=max)
        if result.passed is False:
            raise AssertionError(f"llmops: {result.describe()}")
        return result

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(str(text))

    def artifact(self, name: str, value: Any) -> None:
        ensure_json(name, value)
        with self._lock:
            self.artifacts[str(name)] = value

    # -- what the other layers call ---------------------------------------------------------------
    def add_call(self, call: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(call)

    def add_prompt(self, name: str, version: str, content_hash: str) -> None:
        ref = {"name": name, "version": version, "hash": content_hash}
        with self._lock:
            if ref not in self.prompts:
                self.prompts.append(ref)

    def trajectory(self, *, sample: int | None = None, all_samples: bool = False) -> list[dict[str, Any]]:
        """The tool calls the models requested and the results the app sent back, derived from the recorded calls.

        Steps of the running sample (``sample=`` another one; ``all_samples=True`` every sample); see
        :mod:`pytest_llmops.record.trajectory` for the fields of a step.
        """
        from .trajectory import derive_trajectory, exchanges_from

        if self.trajectory_steps is not None:
            steps = [dict(s) for s in self.trajectory_steps]
        else:
            entries = _exchange_provider() if _exchange_provider is not None else {}
            with self._lock:
                calls = list(self.calls)
            steps = derive_trajectory(exchanges_from(calls, entries))
        if all_samples:
            return steps
        wanted = current_sample_index() if sample is None else sample
        kept = [s for s in steps if s.get("sample") in (wanted, None)]
        return [{**s, "index": i} for i, s in enumerate(kept)]

    def freeze_trajectory(self) -> None:
        """Derive the trajectory of every sample once more and keep it (the recordings go away after the test)."""
        if self.trajectory_steps is None:
            self.trajectory_steps = self.trajectory(all_samples=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain builtins only: this travels through xdist's serializer and into the JSON record."""
        optional = {}
        if self.trajectory_steps:
            optional["trajectory"] = [dict(s) for s in self.trajectory_steps]
        if self.conversation is not None:
            optional["conversation"] = self.conversation
        with self._lock:
            return {
                "metrics": [m.to_dict() for m in self.metrics],
                "notes": list(self.notes),
                "artifacts": dict(self.artifacts),
                "calls": list(self.calls),
                "prompts": list(self.prompts),
                "golden": self.golden,
                "sampling": self.sampling,
                "budget": self.budget,
                "recordings": dict(self.recordings),
                **optional,
                **self.extra,
            }


def record_metric(
    name: str,
    value: float,
    *,
    min: float | None = None,
    max: float | None = None,
    scorer: str | None = None,
    details: dict[str, Any] | None = None,
) -> Metric:
    """Record a metric on the running test if there is one; outside pytest just evaluate it."""
    recorder = current_test()
    if recorder is not None:
        return recorder.metric(name, value, min=min, max=max, scorer=scorer, details=details)
    detached = TestRecorder("<no test>")
    return detached.metric(name, value, min=min, max=max, scorer=scorer, details=details)
