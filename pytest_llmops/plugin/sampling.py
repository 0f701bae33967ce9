"""pytest glue for ``@pytest.mark.sampling``: run the test body up to n times inside one test item.

Fixtures are set up once per test item and shared by all samples (document: a fixture that must be fresh per
sample belongs inside the test body).  Each sample runs with its own sample index, which the model-call layer
puts into replay keys, so a replayed run reproduces the same n samples and the same verdict.  The statistics
live in :mod:`pytest_llmops.sampling.stats`; this module only runs samples and reports.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ..errors import ConfigError, InfrastructureError, SamplingError
from ..record.recorder import _sample_index, current_test
from .outcomes import USAGE_ERRORS
from .state import RunState

RUNNER_KEYS = ("concurrent", "max_parallel", "inconclusive")


def spec_for(state: RunState, mark: pytest.Mark) -> tuple[Any, dict[str, Any]]:
    from ..sampling.stats import validate_spec

    kwargs = dict(mark.kwargs)
    for name, value in zip(("n", "min_pass_rate"), mark.args, strict=False):
        if name in kwargs:
            raise ConfigError(f"@pytest.mark.sampling got {name} both as positional and keyword argument")
        kwargs[name] = value
    runner = {key: kwargs.pop(key) for key in RUNNER_KEYS if key in kwargs}
    if state.option("samples") is not None:
        kwargs["n"] = state.option("samples")
    if state.option("min_pass_rate") is not None:
        kwargs["min_pass_rate"] = state.option("min_pass_rate")
    policy = runner.get("inconclusive") or state.option("inconclusive")
    if policy not in ("fail", "pass", "xfail"):
        raise ConfigError(f"@pytest.mark.sampling inconclusive={policy!r}: expected fail, pass or xfail")
    max_parallel = runner.get("max_parallel", 4)
    if isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1:
        raise ConfigError(f"@pytest.mark.sampling max_parallel={max_parallel!r}: expected an integer >= 1")
    runner["inconclusive"] = policy
    runner["max_parallel"] = max_parallel
    return validate_spec(**kwargs), runner


def check_sampling_marker(state: RunState, item: pytest.Item, mark: pytest.Mark) -> None:
    spec, _ = spec_for(state, mark)
    if spec.mode == "confident":
        from ..sampling.stats import smallest_n_that_can_pass

        smallest = smallest_n_that_can_pass(spec)
        if smallest is None or spec.n < smallest:
            hint = "no n can" if smallest is None else f"the smallest n that could pass is {smallest}"
            item.warn(pytest.PytestWarning(
                f"@pytest.mark.sampling(mode='confident', n={spec.n}, min_pass_rate={spec.min_pass_rate}, "
                f"confidence={spec.confidence}) can never pass: {hint}"
            ))


def _classify(exc: BaseException) -> str:
    if isinstance(exc, (pytest.skip.Exception, pytest.xfail.Exception)) or not isinstance(exc, Exception):
        if isinstance(exc, pytest.fail.Exception):
            return "fail"
        raise exc
    if isinstance(exc, USAGE_ERRORS):
        raise exc  # a misconfiguration is not evidence about the model: the whole test errors with its message
    if isinstance(exc, InfrastructureError):
        return "error"
    return "fail"


def run_sampled_item(state: RunState, item: pytest.Function) -> bool:
    __tracebackhide__ = True
    from ..sampling.stats import SequentialVerdict

    spec, runner = spec_for(state, item.get_closest_marker("sampling"))
    rec = current_test()
    assert rec is not None
    rec.sampling = {"n_planned": spec.n, "running": True}
    function = item.obj
    funcargs = {name: item.funcargs[name] for name in item._fixtureinfo.argnames}
    is_async = inspect.iscoroutinefunction(function)
    samples: list[dict[str, Any]] = []
    verdict = SequentialVerdict(spec)
    parallel = runner["max_parallel"] if (is_async or runner.get("concurrent")) else 1
    next_index = 0
    while next_index < spec.n and not verdict.decided():
        wave = range(next_index, next_index + verdict.next_wave_size(parallel))
        next_index = wave.stop
        if is_async:
            results = asyncio.run(_run_async_wave(function, funcargs, wave))
        elif parallel > 1 and len(wave) > 1:
            results = _run_threaded_wave(function, funcargs, wave, parallel)
        else:
            results = [_run_one(function, funcargs, i) for i in wave]
        for result in results:
            samples.append(result)
            if not verdict.decided():
                verdict.add(result["outcome"])
                result["counted"] = True
            else:
                result["counted"] = False
    outcome = verdict.result()
    _attach_costs(rec, samples)
    info = outcome.to_dict()
    info.update(samples=samples, inconclusive_policy=runner["inconclusive"], concurrent=parallel > 1)
    rec.sampling = info
    message = describe(info)
    if outcome.verdict == "passed":
        return True
    if outcome.verdict == "error":
        raise SamplingError(message)
    if outcome.verdict == "inconclusive":
        if runner["inconclusive"] == "pass":
            rec.note("inconclusive sampling verdict passed by policy: " + message)
            return True
        if runner["inconclusive"] == "xfail":
            pytest.xfail(message)
    pytest.fail(message, pytrace=False)


def _run_one(function: Callable[..., Any], funcargs: dict[str, Any], index: int) -> dict[str, Any]:
    token = _sample_index.set(index)
    start = time.perf_counter()
    try:
        function(**funcargs)
        outcome, message = "pass", None
    except BaseException as exc:  # noqa: BLE001 - classified, re-raised when not a sample outcome
        outcome, message = _classify(exc), _exc_message(exc)
    finally:
        _sample_index.reset(token)
    return {"index": index, "outcome": outcome, "duration_s": round(time.perf_counter() - start, 6), "message": message}


def _run_threaded_wave(
    function: Callable[..., Any], funcargs: dict[str, Any], wave: range, parallel: int
) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=min(parallel, len(wave)), thread_name_prefix="llmops-sample") as pool:
        futures = [pool.submit(contextvars.copy_context().run, _run_one, function, funcargs, i) for i in wave]
        return [future.result() for future in futures]


async def _run_async_wave(function: Callable[..., Any], funcargs: dict[str, Any], wave: range) -> list[dict[str, Any]]:
    async def one(index: int) -> dict[str, Any]:
        _sample_index.set(index)  # each task runs in its own copy of the context
        start = time.perf_counter()
        try:
            await function(**funcargs)
            outcome, message = "pass", None
        except BaseException as exc:  # noqa: BLE001
            outcome, message = _classify(exc), _exc_message(exc)
        return {"index": index, "outcome": outcome, "duration_s": round(time.perf_counter() - start, 6),
                "message": message}

    return list(await asyncio.gather(*(one(i) for i in wave)))


def _exc_message(exc: BaseException) -> str:
    """The first line of the exception's message (assertion rewriting appends explanations below it)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    if isinstance(exc, AssertionError):
        text = first or "AssertionError"
    else:
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _attach_costs(rec: Any, samples: list[dict[str, Any]]) -> None:
    for sample in samples:
        calls = [c for c in rec.calls if c.get("sample") == sample["index"]]
        sample["calls"] = len(calls)
        sample["tokens"] = sum(int(c.get("total_tokens") or 0) for c in calls)
        sample["cost_usd"] = round(sum(float(c.get("cost_usd") or 0) + float(c.get("replayed_cost_usd") or 0)
                                       for c in calls), 8)


def describe(info: dict[str, Any]) -> str:
    lo, hi = (info.get("interval") or (None, None))[:2]
    rate = info.get("rate")
    interval = "" if lo is None else (
        f", {info.get('confidence', 0.95):.0%} {info.get('interval_method')} [{lo:.2f}, {hi:.2f}]")
    valid = info.get("passes", 0) + info.get("failures", 0)
    parts = [
        f"sampling {info.get('verdict')}: {info.get('passes')}/{valid} valid samples passed"
        f" ({info.get('errors')} errored, {info.get('n_run')} of {info.get('n_planned')} run"
        f"{', stopped early' if info.get('stopped_early') else ''})",
        f"rate {'n/a' if rate is None else f'{rate:.2f}'}{interval}",
        f"rule: {info.get('rule')}",
    ]
    distinct: list[str] = []
    for sample in info.get("samples") or []:
        msg = sample.get("message")
        if sample["outcome"] != "pass" and msg and msg not in distinct:
            distinct.append(msg)
    if distinct:
        parts.append("first distinct failures:\n    " + "\n    ".join(f"- {m}" for m in distinct[:3]))
    return "; ".join(parts[:3]) + ("\n  " + parts[3] if len(parts) > 3 else "")
