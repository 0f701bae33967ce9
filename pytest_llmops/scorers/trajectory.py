"""Asserting on tool-call trajectories: four orders x four argument modes, tool-call precision/recall/F1, loops.

``order`` says how the actual steps relate to the expected ones: ``strict`` (same steps, same order),
``unordered`` (same steps, any order), ``subset`` (every actual step is an expected one; some may be missing),
``superset`` (every expected step was taken; extra steps allowed).  ``args`` says the same of one step's
arguments: ``exact``, ``ignore``, ``subset`` (the actual arguments are a subset of the expected ones) or
``superset`` (every expected argument is there and matches; extra ones allowed).  ``per_tool`` overrides the
argument mode per tool name.  A step is a dict with ``tool`` and ``arguments`` (``args`` is accepted too), a
``(tool, arguments)`` pair, or a bare tool name (its arguments are not compared).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..record.recorder import record_metric
from .trajectory_values import ARG_MODES, args_problem, from_json, show

ORDERS = ("strict", "unordered", "subset", "superset")
_NO_ARGS = object()  # a bare tool name: arguments not compared


@dataclass(frozen=True)
class Step:
    tool: str
    arguments: Any = _NO_ARGS

    def describe(self) -> str:
        if self.arguments is _NO_ARGS:
            return f"{self.tool}(…)"
        if isinstance(self.arguments, dict):
            inner = ", ".join(f"{k}={show(v, 40)}" for k, v in self.arguments.items())
            return f"{self.tool}({inner})"
        return f"{self.tool}({show(self.arguments, 60)})"


def as_step(step: Any) -> Step:
    """A :class:`Step` from a recorded step dict, a ``(tool, arguments)`` pair or a tool name."""
    if isinstance(step, Step):
        return step
    if isinstance(step, str):
        return Step(step)
    if isinstance(step, Mapping):
        tool = step.get("tool", step.get("name"))
        if not isinstance(tool, str) or not tool:
            raise ConfigError(f"trajectory step {show(dict(step))} has no tool name ('tool')")
        for key in ("arguments", "args"):
            if key in step:
                return Step(tool, from_json(step[key]))
        return Step(tool)
    if isinstance(step, (tuple, list)) and len(step) == 2 and isinstance(step[0], str):
        return Step(step[0], from_json(step[1]))
    raise ConfigError(f"trajectory step {show(step)}: expected a dict with 'tool', a (tool, arguments) pair or a name")


def as_steps(steps: Any) -> list[Step]:
    if steps is None:
        return []
    if isinstance(steps, (str, Mapping)) or not isinstance(steps, Sequence):
        raise ConfigError(f"a trajectory is a list of steps, got {type(steps).__name__}")
    return [as_step(s) for s in steps]


@dataclass(frozen=True)
class Modes:
    order: str = "strict"
    args: str = "exact"
    per_tool: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ConfigError(f"order={self.order!r}: expected one of {', '.join(ORDERS)}")
        for mode in [self.args, *(self.args_for(t) for t in (self.per_tool or {}))]:
            if mode not in ARG_MODES:
                raise ConfigError(f"args mode {mode!r}: expected one of {', '.join(ARG_MODES)}")

    def args_for(self, tool: str) -> str:
        override = (self.per_tool or {}).get(tool)
        if isinstance(override, Mapping):
            return str(override.get("args", self.args))
        return self.args if override is None else str(override)


def step_problem(expected: Step, actual: Step, modes: Modes) -> str | None:
    """None when ``actual`` is the ``expected`` step under ``modes``, else what differs."""
    if expected.tool != actual.tool:
        return f"tool: expected {expected.tool!r}, got {actual.tool!r}"
    if expected.arguments is _NO_ARGS or actual.arguments is _NO_ARGS:
        return None
    return args_problem(expected.arguments, actual.arguments, modes.args_for(expected.tool))


def max_matching(expected: list[Step], actual: list[Step], modes: Modes) -> dict[int, int]:
    """A maximum one-to-one pairing expected index -> actual index of matching steps (augmenting paths)."""
    edges = [[j for j, act in enumerate(actual) if step_problem(exp, act, modes) is None] for exp in expected]
    owner: dict[int, int] = {}  # actual index -> expected index

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        augment(i, set())
    return {i: j for j, i in owner.items()}


@dataclass
class TrajectoryMatch:
    """The outcome of one comparison: ``ok``, the pairing, and the first divergence (``index``, ``reason``)."""

    ok: bool
    modes: Modes
    expected: list[Step]
    actual: list[Step]
    pairs: dict[int, int]
    divergence: int | None = None
    reason: str = ""

    def message(self) -> str:
        head = (f"trajectory does not match (order={self.modes.order}, args={self.modes.args}): "
                f"first divergence at step {self.divergence}: {self.reason}")
        matched_actual = set(self.pairs.values())
        lines = [head, f"  expected ({len(self.expected)} steps):"]
        lines += [f"    {'✓' if i in self.pairs else '✗'} [{i}] {s.describe()}" for i, s in enumerate(self.expected)]
        lines.append(f"  actual ({len(self.actual)} steps):")
        lines += [f"    {'✓' if j in matched_actual else '✗'} [{j}] {s.describe()}" for j, s in enumerate(self.actual)]
        return "\n".join(lines)


def _strict(expected: list[Step], actual: list[Step], modes: Modes) -> TrajectoryMatch:
    pairs: dict[int, int] = {}
    for i in range(max(len(expected), len(actual))):
        if i >= len(actual):
            reason = f"expected {expected[i].describe()}, the actual trajectory ended after {len(actual)} steps"
            return TrajectoryMatch(False, modes, expected, actual, pairs, i, reason)
        if i >= len(expected):
            reason = f"unexpected extra step {actual[i].describe()} (expected {len(expected)} steps)"
            return TrajectoryMatch(False, modes, expected, actual, pairs, i, reason)
        problem = step_problem(expected[i], actual[i], modes)
        if problem:
            reason = f"expected {expected[i].describe()}, got {actual[i].describe()} ({problem})"
            return TrajectoryMatch(False, modes, expected, actual, pairs, i, reason)
        pairs[i] = i
    return TrajectoryMatch(True, modes, expected, actual, pairs)


def _closest_problem(step: Step, others: list[Step], modes: Modes, flip: bool) -> str:
    """Why ``step`` matched none of ``others``: the difference to the first one with the same tool."""
    for other in others:
        if other.tool == step.tool:
            problem = step_problem(other, step, modes) if flip else step_problem(step, other, modes)
            return f"; closest {other.describe()}: {problem}"
    return f"; no step calls {step.tool!r}"


def _unordered(expected: list[Step], actual: list[Step], modes: Modes) -> TrajectoryMatch:
    pairs = max_matching(expected, actual, modes)
    need_expected = modes.order in ("unordered", "superset")
    need_actual = modes.order in ("unordered", "subset")
    lost_expected = [i for i in range(len(expected)) if i not in pairs] if need_expected else []
    used = set(pairs.values())
    lost_actual = [j for j in range(len(actual)) if j not in used] if need_actual else []
    if not lost_expected and not lost_actual:
        return TrajectoryMatch(True, modes, expected, actual, pairs)
    if lost_expected and (not lost_actual or lost_expected[0] <= lost_actual[0]):
        i = lost_expected[0]
        reason = (f"expected step {expected[i].describe()} was not taken"
                  + _closest_problem(expected[i], actual, modes, flip=False))
        return TrajectoryMatch(False, modes, expected, actual, pairs, i, reason)
    j = lost_actual[0]
    reason = (f"actual step {actual[j].describe()} is not an expected one"
              + _closest_problem(actual[j], expected, modes, flip=True))
    return TrajectoryMatch(False, modes, expected, actual, pairs, j, reason)


def match_trajectory(actual: Any, expected: Any, *, order: str = "strict", args: str = "exact",
                     per_tool: Mapping[str, Any] | None = None) -> TrajectoryMatch:
    """Compare without asserting or recording anything."""
    modes = Modes(order, args, per_tool)
    exp, act = as_steps(expected), as_steps(actual)
    return _strict(exp, act, modes) if order == "strict" else _unordered(exp, act, modes)


def _fingerprint(step: Step) -> str:
    args = None if step.arguments is _NO_ARGS else step.arguments
    return json.dumps([step.tool, args], sort_keys=True, default=repr)


def repeated_calls(actual: Any) -> int:
    """Steps identical (same tool, same arguments) to an earlier step: the signature of a loop."""
    steps = as_steps(actual)
    return len(steps) - len({_fingerprint(s) for s in steps})


def tool_call_scores(actual: Any, expected: Any, *, args: str = "exact",
                     per_tool: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Precision, recall and F1 of the actual tool calls against the expected ones (one-to-one matching)."""
    exp, act = as_steps(expected), as_steps(actual)
    matched = len(max_matching(exp, act, Modes("unordered", args, per_tool)))
    precision = matched / len(act) if act else (1.0 if not exp else 0.0)
    recall = matched / len(exp) if exp else 1.0
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}


def record_trajectory_metrics(actual: Any, expected: Any | None = None, *, args: str = "exact",
                              per_tool: Mapping[str, Any] | None = None, max_steps: int | None = None,
                              prefix: str = "") -> dict[str, float]:
    """Record step count, repeated calls and (with ``expected``) tool-call precision/recall/F1 on the test."""
    steps = as_steps(actual)
    values: dict[str, float] = {}
    record_metric(f"{prefix}trajectory_steps", len(steps), max=max_steps, scorer="trajectory")
    values["trajectory_steps"] = len(steps)
    values["repeated_tool_calls"] = repeated_calls(steps)
    record_metric(f"{prefix}repeated_tool_calls", values["repeated_tool_calls"], scorer="trajectory")
    if expected is not None:
        for name, value in tool_call_scores(steps, expected, args=args, per_tool=per_tool).items():
            values[f"tool_call_{name}"] = value
            record_metric(f"{prefix}tool_call_{name}", value, scorer="trajectory")
    return values


def assert_trajectory(actual: Any, expected: Any, *, order: str = "strict", args: str = "exact",
                      per_tool: Mapping[str, Any] | None = None, max_steps: int | None = None,
                      prefix: str = "") -> TrajectoryMatch:
    """Fail (AssertionError naming the first divergent step, both sides shown) unless ``actual`` matches.

    Records ``tool_call_precision/recall/f1``, ``trajectory_steps`` (bounded by ``max_steps``),
    ``repeated_tool_calls`` and ``trajectory_match`` on the running test.
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0):
        raise ConfigError(f"max_steps={max_steps!r}: expected a non-negative integer")
    result = match_trajectory(actual, expected, order=order, args=args, per_tool=per_tool)
    record_trajectory_metrics(result.actual, result.expected, args=args, per_tool=per_tool, max_steps=max_steps,
                              prefix=prefix)
    record_metric(f"{prefix}trajectory_match", 1.0 if result.ok else 0.0, min=1.0, scorer="trajectory",
                  details={"order": order, "args": args, "divergence": result.divergence})
    if not result.ok:
        raise AssertionError(result.message())
    if max_steps is not None and len(result.actual) > max_steps:
        raise AssertionError(f"trajectory took {len(result.actual)} steps, more than max_steps={max_steps}")
    return result
