"""Provider-fault classification and retries, over real HTTP: litellm → the loopback server."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from pytest_llmops.calls.retry import (
    FaultInfo,
    RetryPolicy,
    acall_with_retries,
    backoff_delay,
    call_with_retries,
    classify,
)
from pytest_llmops.errors import BudgetExceeded, ProviderError
from pytest_llmops.testing.loopback import LoopbackServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm")  # imported once for the module: it costs seconds

# litellm's first call makes pydantic warn about one of litellm's own TypedDicts (filterwarnings=error)
pytestmark = pytest.mark.filterwarnings("ignore:Items? .* using the `ReadOnly` qualifier:UserWarning")

# the project's own plugin captures litellm calls inside tests (replay by default); these tests are about the
# raw provider path, so they call the unwrapped functions
try:
    from pytest_llmops.calls.capture import original as unpatched
except ImportError:  # no capture layer: litellm is not patched
    def unpatched(name: str):
        return getattr(litellm, name)

from pytest_llmops.calls.active import engine_live  # noqa: E402  (and past the HTTP-layer capture too)

_COMPLETION = unpatched("completion")
_ACOMPLETION = unpatched("acompletion")


def COMPLETION(**kwargs):  # noqa: N802
    with engine_live():
        return _COMPLETION(**kwargs)


async def ACOMPLETION(**kwargs):  # noqa: N802
    with engine_live():
        return await _ACOMPLETION(**kwargs)

MODEL = "openai/loopback-model"
FAST = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=5.0, timeout_s=2.0, jitter=0.0)


def call_args(server: LoopbackServer, timeout: float) -> dict:
    return {"model": MODEL, "api_base": server.base_url, "api_key": "sk-test",
            "messages": [{"role": "user", "content": "ping"}], "temperature": 0,
            "num_retries": 0, "max_retries": 0, "timeout": timeout}


def completion(server: LoopbackServer, timeout: float = 5.0):
    return COMPLETION(**call_args(server, timeout))


def failure_of(server: LoopbackServer, kind: str, timeout: float = 5.0) -> BaseException:
    server.queue_fault(kind)
    with pytest.raises(Exception) as caught:
        completion(server, timeout)
    return caught.value


@pytest.fixture(scope="module")
def server():
    with LoopbackServer(retry_after_s=0.75, hang_s=3.0) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_server(server):
    server.apply_control({"clear_queues": True, "clear_requests": True, "fault_rate": 0.0})


@pytest.mark.parametrize(("fault", "kind", "retryable", "status"), [
    ("429", "rate_limit", True, 429),
    ("500", "server", True, 500),
    ("503", "server", True, 503),
    ("drop", "connection", True, None),
    ("malformed", "malformed", True, None),
    ("401", "auth", False, 401),
    ("400", "bad_request", False, 400),
])
def test_classify_real_litellm_exceptions(server, fault, kind, retryable, status):
    info = classify(failure_of(server, fault))
    assert (info.kind, info.retryable, info.status) == (kind, retryable, status)
    assert info.provider and info.message


def test_classify_timeout_and_retry_after(server):
    info = classify(failure_of(server, "hang", timeout=0.3))
    assert (info.kind, info.retryable) == ("timeout", True)
    limited = classify(failure_of(server, "429"))
    assert limited.retry_after_s == pytest.approx(0.75)


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop", "malformed", "hang"])
def test_each_fault_kind_is_retried_then_succeeds(server, fault):
    server.queue_fault(fault)
    sleeps: list[float] = []
    seen: list[FaultInfo] = []
    response, retries = call_with_retries(lambda: completion(server, timeout=0.5), FAST, sleep=sleeps.append,
                                          on_retry=lambda attempt, info, delay: seen.append(info), model=MODEL)
    assert retries == 1 and len(sleeps) == 1
    assert response.choices[0].message.content.endswith("ping")
    assert len(seen) == 1 and seen[0].retryable
    assert len([r for r in server.requests if r["path"] == "/v1/chat/completions"]) == 2


def test_exhausted_retries_raise_provider_error_with_the_provider_message(server):
    server.queue_fault("500", count=10)
    sleeps: list[float] = []
    with pytest.raises(ProviderError) as caught:
        call_with_retries(lambda: completion(server), FAST, sleep=sleeps.append, model=MODEL)
    error = caught.value
    assert (error.kind, error.attempts, error.status) == ("server", 4, 500)
    assert "The server had an error while processing your request" in str(error)
    assert "after 4 attempts" in str(error)
    assert sleeps == [0.01, 0.02, 0.04]  # exponential, jitter off
    assert isinstance(error.__cause__, litellm.InternalServerError)


def test_retry_after_is_honoured_and_capped(server):
    server.queue_fault("429", count=2)
    sleeps: list[float] = []
    _, retries = call_with_retries(lambda: completion(server), FAST, sleep=sleeps.append)
    assert retries == 2 and sleeps == [pytest.approx(0.75), pytest.approx(0.75)]
    server.queue_fault("429")
    capped: list[float] = []
    call_with_retries(lambda: completion(server), RetryPolicy(base_delay_s=0.01, max_delay_s=0.25),
                      sleep=capped.append)
    assert capped == [0.25]


def test_auth_error_is_not_retried_and_names_the_missing_key(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.queue_fault("401")
    sleeps: list[float] = []
    with pytest.raises(ProviderError) as caught:
        call_with_retries(lambda: completion(server), FAST, sleep=sleeps.append, model="gpt-4o-mini")
    assert sleeps == [] and caught.value.attempts == 1 and caught.value.kind == "auth"
    assert "OPENAI_API_KEY" in str(caught.value)
    assert "Incorrect API key provided" in str(caught.value)
    assert len(server.requests) == 1


def test_bad_request_is_not_retried(server):
    server.queue_fault("400")
    with pytest.raises(ProviderError, match="bad_request") as caught:
        call_with_retries(lambda: completion(server), FAST, sleep=lambda s: None)
    assert caught.value.attempts == 1


def test_random_faults_are_ridden_out():
    kinds = ("429", "500", "drop", "malformed")
    with LoopbackServer(fault_rate=0.4, fault_kinds=kinds, seed=5, retry_after_s=0.0) as flaky:
        retries_total = 0
        for _ in range(8):
            response, retries = call_with_retries(lambda: completion(flaky), RetryPolicy(max_retries=8),
                                                  sleep=lambda s: None)
            assert response.choices[0].message.content
            retries_total += retries
        assert retries_total > 0  # seed 5 does inject faults
        assert retries_total == len(flaky.requests) - 8  # every failed request was retried once


def test_async_retries_over_http(server):
    server.queue_fault("503")
    server.queue_fault("429")
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def run():
        return await acall_with_retries(lambda: ACOMPLETION(**call_args(server, 5.0)), FAST,
                                        model=MODEL, sleep=fake_sleep)

    response, retries = asyncio.run(run())
    assert retries == 2 and response.choices[0].message.content
    assert sleeps == [0.01, pytest.approx(0.75)]


def test_async_attempts_are_bounded_by_the_policy_timeout():
    attempts = 0

    async def slow_then_fast() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await asyncio.sleep(5)
        return "done"

    policy = RetryPolicy(max_retries=1, base_delay_s=0.0, timeout_s=0.05, jitter=0.0)
    assert asyncio.run(acall_with_retries(slow_then_fast, policy)) == ("done", 1)


def test_non_provider_errors_pass_through_unwrapped():
    def buggy():
        raise KeyError("bug in the caller")

    with pytest.raises(KeyError):
        call_with_retries(buggy, FAST, sleep=lambda s: None)

    def spent():
        raise BudgetExceeded("cap")

    with pytest.raises(BudgetExceeded):
        call_with_retries(spent, FAST, sleep=lambda s: None)
    assert classify(ValueError("x")).provider is False


def test_plain_socket_errors_are_classified():
    assert classify(ConnectionResetError("reset")).kind == "connection"
    assert classify(TimeoutError()).kind == "timeout"
    assert classify(__import__("json").JSONDecodeError("Expecting value", "", 0)).kind == "malformed"


def test_backoff_delay_grows_with_jitter_and_cap():
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=3.0, jitter=0.25)
    rng = random.Random(0)
    for attempt, centre in ((1, 0.5), (2, 1.0), (3, 2.0)):
        delays = [backoff_delay(attempt, policy, rng=rng) for _ in range(50)]
        assert all(centre * 0.75 <= d <= centre * 1.25 for d in delays)
        assert len(set(delays)) > 1
    assert backoff_delay(10, policy, rng=rng) == 3.0
    assert backoff_delay(1, policy, retry_after_s=2.5) == 2.5
    assert backoff_delay(1, policy, retry_after_s=60) == 3.0
