"""``pytest --llmops-plan``: what a run would replay, call live and cost, per test and in total; nothing runs.

Per test item: the entries of its recording (replayed, or live again under ``--llmops-record-mode=all``); a test
without a recording goes live in modes ``once``/``new_episodes``/``all``/``off`` (and would error in ``none``),
with one call per sample, or as many calls as its recorded siblings (other parametrizations of the same test
function: a new golden case) made, at their mean cost (their cheapest..dearest as the range).
Prompt tokens are counted with litellm's tokenizer (the recorded request, or the
prompt version's messages plus the golden case's input); completion tokens come from the recording history
(this test's entries, else the mean over every recording the plan read) or the version's ``max_tokens``.
The ± range spans the completion-token uncertainty: half the history mean up to ``max_tokens`` (or twice it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import assets as _assets
from . import calls as _calls
from .state import RunState

LIVE_IF_MISSING = ("once", "new_episodes", "all", "off")


@dataclass
class Estimate:
    nodeid: str
    replayed: int = 0
    live: int = 0
    missing: bool = False
    cost: float = 0.0
    low: float = 0.0
    high: float = 0.0
    unpriced: list[str] = field(default_factory=list)

    def add(self, cost: tuple[float, float, float] | None, model: str) -> None:
        if cost is None:
            self.unpriced.append(model)
            return
        self.cost, self.low, self.high = self.cost + cost[0], self.low + cost[1], self.high + cost[2]


class History:
    """Completion tokens seen in the recordings the plan read: the fallback for tests without one."""

    def __init__(self) -> None:
        self.completions: list[int] = []

    def mean(self) -> float | None:
        return sum(self.completions) / len(self.completions) if self.completions else None


def prompt_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    from ..calls.litellm_loader import load_litellm, quiet_litellm_warnings

    litellm = load_litellm()
    quiet_litellm_warnings()
    return int(litellm.token_counter(model=model, messages=messages))


#: litellm's tokenizer is exact only for models it knows; others are counted with a stand-in (cl100k)
PROMPT_TOKEN_MARGIN = 0.25


def cost_range(state: RunState, model: str, p_tokens: int, mid: float, low: float, high: float) -> tuple[
        float, float, float] | None:
    """(estimate, low, high) USD of one call: completion ``mid`` in [low, high], prompt tokens ± the margin."""
    from ..calls.pricing import call_cost

    spans = ((p_tokens, mid), (p_tokens * (1 - PROMPT_TOKEN_MARGIN), low), (p_tokens * (1 + PROMPT_TOKEN_MARGIN), high))
    costs = [call_cost(model, int(round(p)), int(round(c)), state.prices, warn=False) for p, c in spans]
    return None if None in costs else (costs[0], costs[1], costs[2])  # type: ignore[return-value]


def _entries(state: RunState, item: pytest.Item) -> list[dict[str, Any]] | None:
    from ..calls.cassette import read_entries

    path = _calls.cassette_path(state, item)
    return list(read_entries(path).values()) if path.is_file() else None


def _version(state: RunState, item: pytest.Item) -> Any:
    mark = item.get_closest_marker("prompt")
    if mark is None or not mark.args:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    version = params.get("prompt") or mark.kwargs.get("version")
    return _assets.registry_for(state, Path(item.path)).get(mark.args[0], version)


def _samples(item: pytest.Item, state: RunState) -> tuple[int, int]:
    """(planned samples, fewest that can decide the verdict) of a test: (1, 1) without ``@sampling``."""
    mark = item.get_closest_marker("sampling")
    if mark is None:
        return 1, 1
    n = int(state.option("samples") or mark.kwargs.get("n") or (mark.args[0] if mark.args else 1))
    rate = state.option("min_pass_rate") or mark.kwargs.get("min_pass_rate") or (
        mark.args[1] if len(mark.args) > 1 else 1.0)
    if mark.kwargs.get("mode", "k_of_n") != "k_of_n" or mark.kwargs.get("early_stop") is False:
        return n, (n if mark.kwargs.get("early_stop") is False else 1)
    return n, max(1, min(n, math.ceil(float(rate) * n - 1e-9), n - math.ceil(float(rate) * n - 1e-9) + 1))


def _plan_recorded(state: RunState, est: Estimate, entries: list[dict[str, Any]], live: bool) -> None:
    for entry in entries:
        usage = (entry.get("response") or {}).get("usage") or entry.get("usage") or {}
        completion = int(usage.get("completion_tokens") or 0)
        if not live:
            est.replayed += 1
            continue
        est.live += 1
        request = entry.get("request") or {}
        model = str(request.get("model") or "")
        messages = request.get("messages") or [{"role": "user", "content": str(request.get("input"))}]
        cap = (request.get("params") or {}).get("max_tokens")
        high = float(cap) if cap else 2.0 * completion
        est.add(cost_range(state, model, prompt_tokens(model, messages), completion, completion / 2, high), model)


def _plan_unrecorded(state: RunState, est: Estimate, item: pytest.Item, history: History) -> None:
    version = _version(state, item)
    model = (version.model if version is not None else None) or state.option("model")
    planned, fewest = _samples(item, state)
    if not model:
        est.unpriced.append("(no model known before the test runs)")
        est.live += planned
        return
    messages = [dict(m) for m in version.messages] if version is not None else []
    case = getattr(getattr(item, "callspec", None), "params", {}).get("golden_case")
    if isinstance(case, tuple) and len(case) == 2 and getattr(case[1], "input", None) is not None:
        messages.append({"role": "user", "content": str(case[1].input)})
    cap = (version.params.get("max_tokens") if version is not None else None) or None
    mean = history.mean()
    mid = mean if mean is not None else (cap / 2 if cap else 200.0)
    low = mid / 2 if mean is not None else 1.0  # no history: the answer may be one token long
    high = float(cap) if cap else 2.0 * mid
    tokens = prompt_tokens(model, messages or [{"role": "user", "content": ""}])
    one = cost_range(state, model, tokens, mid, low, high)
    est.live += planned
    if one is None:
        est.unpriced.append(model)
        return
    # the estimate plans every sample; the low end only those that can already decide the verdict
    est.add((one[0] * planned, one[1] * fewest, one[2] * planned), model)


def plan(state: RunState, items: list[pytest.Item]) -> list[Estimate]:
    mode = state.option("record_mode")
    history = History()
    recorded = {item.nodeid: _entries(state, item) for item in items}
    for entries in recorded.values():
        for entry in entries or []:
            usage = (entry.get("response") or {}).get("usage") or entry.get("usage") or {}
            history.completions.append(int(usage.get("completion_tokens") or 0))
    estimates = []
    for item in items:
        est, entries = Estimate(item.nodeid), recorded[item.nodeid]
        if entries is not None and mode != "off":
            _plan_recorded(state, est, entries, live=mode == "all")
        elif mode in LIVE_IF_MISSING:
            siblings = [recorded[i.nodeid] for i in items if _function_of(i) == _function_of(item)
                        and recorded[i.nodeid]]
            if siblings and _version(state, item) is None:
                _plan_from_siblings(state, est, siblings)  # e.g. a new golden case of a recorded test
            else:
                _plan_unrecorded(state, est, item, history)
        else:
            est.missing = True
        estimates.append(est)
    return estimates


def _function_of(item: pytest.Item) -> tuple[str, str]:
    return str(item.path), getattr(item, "originalname", item.name)


def _plan_from_siblings(state: RunState, est: Estimate, siblings: list[list[dict[str, Any]]]) -> None:
    """A test whose calls the app makes (unknown before it runs): what its recorded siblings (the other
    parametrizations of the same test function) cost each, as mean (low = cheapest, high = dearest)."""
    per_test = []
    for entries in siblings:
        mid = low = high = 0.0
        for entry in entries:
            usage = (entry.get("response") or {}).get("usage") or entry.get("usage") or {}
            model = str((entry.get("request") or {}).get("model") or "")
            cost = cost_range(state, model, int(usage.get("prompt_tokens") or 0),
                              *(float(usage.get("completion_tokens") or 0),) * 3)
            if cost is None:
                est.unpriced.append(model)
                continue
            mid, low, high = mid + cost[0], low + cost[1], high + cost[2]
        per_test.append((len(entries), mid, low, high))
    est.live += round(sum(p[0] for p in per_test) / len(per_test))
    est.add((sum(p[1] for p in per_test) / len(per_test), min(p[2] for p in per_test),
             max(p[3] for p in per_test)), "")


def _money(value: float) -> str:
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def lines(estimates: list[Estimate], mode: str) -> list[str]:
    out = [f"llmops plan (record mode {mode}; nothing was run):"]
    for est in estimates:
        text = f"  {est.nodeid}: replay {est.replayed}, live {est.live}"
        if est.live:
            text += f", ~{_money(est.cost)} ({_money(est.low)}..{_money(est.high)})"
        if est.missing:
            text += ", NO RECORDING: would error (record with --llmops-record-mode=once)"
        if est.unpriced:
            text += f", unpriced: {', '.join(sorted(set(est.unpriced)))}"
        out.append(text)
    cost, low, high = (sum(getattr(e, k) for e in estimates) for k in ("cost", "low", "high"))
    missing = sum(e.missing for e in estimates)
    plus_minus = max(high - cost, cost - low)
    out.append(
        f"llmops plan total: {len(estimates)} tests, {sum(e.replayed for e in estimates)} calls replayed, "
        f"{sum(e.live for e in estimates)} live, estimated {_money(cost)} ± {_money(plus_minus)} "
        f"(range {_money(low)}..{_money(high)})" + (f", {missing} tests without a recording" if missing else ""))
    return out


def apply(state: RunState, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Estimate, keep the lines for the terminal summary, deselect every item (so nothing runs)."""
    state.final_lines.extend(lines(plan(state, items), state.option("record_mode")))
    config.hook.pytest_deselected(items=list(items))
    items.clear()

