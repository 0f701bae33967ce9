"""Provider faults: what kind a failure is, whether it is worth retrying, and the retry loop.

:func:`classify` turns an exception from litellm / the ``openai`` client / httpx (or plain socket,
timeout and JSON errors) into a :class:`FaultInfo`.  :func:`call_with_retries` and
:func:`acall_with_retries` retry retryable faults with exponential backoff and jitter, honour a provider's
``Retry-After`` and, when retries are spent or the fault is not retryable, raise
:class:`~pytest_llmops.errors.ProviderError` carrying the provider's message, the fault kind and the
number of attempts.  Exceptions that do not come from the provider (a bug in the caller, the project's own
errors such as ``BudgetExceeded``) pass through untouched.

The per-attempt timeout (:attr:`RetryPolicy.timeout_s`) is the caller's to hand to the client
(``litellm.completion(..., timeout=policy.timeout_s)``); the async variant also enforces it itself.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import LlmopsError, ProviderError

__all__ = [
    "FaultInfo",
    "RetryPolicy",
    "acall_with_retries",
    "backoff_delay",
    "call_with_retries",
    "classify",
    "missing_env_vars",
    "provider_error",
]

T = TypeVar("T")

RETRYABLE_KINDS = frozenset({"rate_limit", "server", "connection", "timeout", "malformed"})
_PROVIDER_MODULES = ("litellm", "openai", "httpx", "httpcore", "aiohttp", "anyio", "h11")
_MALFORMED_HINTS = ("jsondecodeerror", "expecting value", "unterminated string", "expecting ',' delimiter",
                    "expecting property name", "invalid json", "extra data")
_NO_CREDENTIALS_HINTS = ("missing credentials", "api_key client option must be set")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``max_retries`` retries after the first attempt, exponential backoff from
    ``base_delay_s`` capped at ``max_delay_s`` with ± ``jitter`` (a fraction), ``timeout_s`` per attempt."""

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    timeout_s: float = 60.0
    jitter: float = 0.25


@dataclass
class FaultInfo:
    """What went wrong with one provider call.

    ``kind`` is one of ``rate_limit``, ``server``, ``connection``, ``timeout``, ``malformed``, ``auth``,
    ``bad_request`` or ``other``; ``provider`` is False when the exception did not come from the model
    provider at all (then it is re-raised as it is, never wrapped).
    """

    kind: str
    retryable: bool
    retry_after_s: float | None
    message: str
    status: int | None
    provider: bool = True


# -- classification ------------------------------------------------------------------------------

def _mro_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _from_provider_stack(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    if module.split(".")[0] in _PROVIDER_MODULES:
        return True
    return isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, json.JSONDecodeError))


def _status_of(exc: BaseException) -> int | None:
    for candidate in (getattr(exc, "status_code", None), getattr(getattr(exc, "response", None), "status_code", None)):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
        if isinstance(candidate, str) and candidate.isdigit():
            return int(candidate)
    return None


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    try:
        value = headers.get(name)
        if value is None and isinstance(headers, dict):
            value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    except Exception:  # an exotic headers object: no hint
        return None
    return None if value is None else str(value)


def _parse_retry_after(headers: Any) -> float | None:
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = _header(headers, "retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retry_after_of(exc: BaseException) -> float | None:
    sources = (
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
    )
    for headers in sources:
        seconds = _parse_retry_after(headers)
        if seconds is not None:
            return seconds
    return None


def _message_of(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message else str(exc)
    return text or type(exc).__name__


def _kind_from_types(exc: BaseException) -> str | None:
    names = _mro_names(exc)
    if isinstance(exc, TimeoutError) or names & {"Timeout", "APITimeoutError", "TimeoutException", "ReadTimeout",
                                                  "ConnectTimeout", "ServerTimeoutError"}:
        return "timeout"
    if isinstance(exc, json.JSONDecodeError) or "APIResponseValidationError" in names:
        return "malformed"
    if names & {"RateLimitError"}:
        return "rate_limit"
    if names & {"AuthenticationError", "PermissionDeniedError"}:
        return "auth"
    if names & {"APIConnectionError", "TransportError", "NetworkError", "RemoteProtocolError",
                "ClientConnectionError"} or isinstance(exc, ConnectionError):
        return "connection"
    if names & {"InternalServerError", "ServiceUnavailableError", "BadGatewayError"}:
        return "server"
    if names & {"BadRequestError", "NotFoundError", "UnprocessableEntityError", "InvalidRequestError"}:
        return "bad_request"
    return None


def _kind_from_status(status: int | None) -> str | None:
    if status is None:
        return None
    if status == 429:
        return "rate_limit"
    if status == 408:
        return "timeout"
    if status in (401, 402, 403):
        return "auth"
    if status in (409, 425) or status >= 500:
        return "server"
    if 400 <= status < 500:
        return "bad_request"
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (litellm wraps the real cause a few levels deep)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain) and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _underlying_kind(exc: BaseException) -> str | None:
    """What the wrapped causes say: litellm reports a dropped connection or an unparseable body as an
    ``InternalServerError`` (status 500) whose real cause sits further down the chain."""
    for cause in _chain(exc)[1:]:
        if isinstance(cause, json.JSONDecodeError):
            return "malformed"
        kind = _kind_from_types(cause)
        if kind in ("timeout", "connection", "malformed"):
            return kind
    lowered = _message_of(exc).lower()
    if any(hint in lowered for hint in _MALFORMED_HINTS):
        return "malformed"
    if any(hint in lowered for hint in _NO_CREDENTIALS_HINTS):
        return "auth"  # the client refused to send a request without a key; litellm calls that a 500
    return None


def classify(exc: BaseException) -> FaultInfo:
    """Say what kind of provider fault ``exc`` is and whether retrying can help."""
    if isinstance(exc, LlmopsError) or not _from_provider_stack(exc):
        return FaultInfo("other", False, None, _message_of(exc), None, provider=False)
    message = _message_of(exc)
    status = _status_of(exc)
    kind = _kind_from_types(exc)
    if kind in (None, "server", "connection"):
        underlying = _underlying_kind(exc)
        if underlying is not None and underlying != kind:
            kind, status = underlying, None  # litellm's 500 was a placeholder, not the provider's answer
    if kind == "connection" and status == 500 and "APIConnectionError" in _mro_names(exc):
        status = None  # litellm.APIConnectionError always claims 500
    if kind is None or (kind == "connection" and status is not None):
        kind = _kind_from_status(status) or kind or "other"
    retry_after = _retry_after_of(exc) if kind in ("rate_limit", "server") else None
    return FaultInfo(kind, kind in RETRYABLE_KINDS, retry_after, message, status)


# -- delays --------------------------------------------------------------------------------------

def backoff_delay(attempt: int, policy: RetryPolicy, retry_after_s: float | None = None,
                  rng: Any = random) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    A provider's ``Retry-After`` wins (capped at ``max_delay_s``); otherwise
    ``base_delay_s * 2**(attempt-1)`` times a random factor in ``[1-jitter, 1+jitter]``, capped.
    """
    if retry_after_s is not None:
        return min(max(0.0, float(retry_after_s)), policy.max_delay_s)
    exponential = policy.base_delay_s * (2 ** max(0, attempt - 1))
    jitter = max(0.0, min(1.0, policy.jitter))
    factor = rng.uniform(1 - jitter, 1 + jitter) if jitter else 1.0
    return max(0.0, min(exponential * factor, policy.max_delay_s))


# -- errors --------------------------------------------------------------------------------------

def missing_env_vars(model: str | None) -> list[str]:
    """The environment variables litellm says ``model`` needs and that are not set (``[]`` if unknown)."""
    if not model:
        return []
    try:
        import litellm  # noqa: PLC0415 - heavy, imported on demand

        report = litellm.validate_environment(model=model)
    except Exception:  # unknown provider / litellm missing: nothing to name
        return []
    return [str(key) for key in report.get("missing_keys") or []]


def credential_env_vars(model: str | None) -> list[str]:
    """The set environment variable that most likely holds ``model``'s key (``PROVIDER_API_KEY``), or ``[]``."""
    if not model:
        return []
    try:
        import litellm  # noqa: PLC0415 - heavy, imported on demand

        provider = litellm.get_llm_provider(model=model)[1]
    except Exception:  # unknown provider: nothing to name
        return []
    name = f"{str(provider).upper()}_API_KEY"
    return [name] if os.environ.get(name) else []


_HINTS = {
    "rate_limit": "the provider kept rate-limiting; lower the live-call concurrency or raise your quota",
    "server": "the provider kept failing on its side; retry later or raise the retry count",
    "connection": "the provider could not be reached; check the network / api_base",
    "timeout": "the provider did not answer in time; raise the model-call timeout",
    "malformed": "the provider's answer could not be parsed; retry later",
    "bad_request": "the provider refused the request itself (not retried); fix the call's model name or "
                   "parameters",
    "other": "see the provider's message",
}


def provider_error(info: FaultInfo, attempts: int, *, model: str | None = None) -> ProviderError:
    """A :class:`ProviderError` describing ``info`` after ``attempts`` attempts; it carries the attributes
    ``kind``, ``attempts``, ``status``, ``retryable``, ``provider_message``, ``model`` and ``fault``."""
    where = f" for model {model!r}" if model else ""
    status = f" (HTTP {info.status})" if info.status else ""
    if info.kind == "auth":
        missing = missing_env_vars(model)
        if missing:
            refused = "the credentials were refused and " if info.status else "no credentials: "
            hint = (f"{refused}{', '.join(missing)} is not set; export "
                    f"{' and '.join(missing)} (or pass api_key=) and run again (not retried)")
        else:
            configured = credential_env_vars(model)
            key_source = (f"{configured[0]} (or the api_key= passed to the call)" if configured
                          else "the API key configured for this provider")
            hint = f"the credentials were refused; check {key_source} (not retried)"
    else:
        hint = _HINTS.get(info.kind, _HINTS["other"])
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    error = ProviderError(
        f"model call{where} failed after {tries}: {info.kind}{status}: {info.message} — {hint}"
    )
    error.kind = info.kind  # type: ignore[attr-defined]
    error.attempts = attempts  # type: ignore[attr-defined]
    error.status = info.status  # type: ignore[attr-defined]
    error.retryable = info.retryable  # type: ignore[attr-defined]
    error.provider_message = info.message  # type: ignore[attr-defined]
    error.model = model  # type: ignore[attr-defined]
    error.fault = info  # type: ignore[attr-defined]
    return error


# -- retry loops ---------------------------------------------------------------------------------

OnRetry = Callable[[int, FaultInfo, float], Any]


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, sleep: Callable[[float], Any] = time.sleep,
                      on_retry: OnRetry | None = None, model: str | None = None,
                      rng: Any = random) -> tuple[T, int]:
    """Call ``fn`` until it succeeds; return ``(result, retries_used)``.

    Retryable faults are retried up to ``policy.max_retries`` times, sleeping :func:`backoff_delay`
    between attempts; ``on_retry(attempt, fault, delay)`` is told before each sleep.  Raises
    :class:`ProviderError` when retries are spent or the fault is not retryable; non-provider exceptions
    propagate unchanged.
    """
    attempt = 0
    while True:
        try:
            return fn(), attempt
        except Exception as exc:
            info = classify(exc)
            if not info.provider:
                raise
            if not info.retryable or attempt >= policy.max_retries:
                raise provider_error(info, attempt + 1, model=model) from exc
            attempt += 1
            delay = backoff_delay(attempt, policy, info.retry_after_s, rng)
            if on_retry is not None:
                on_retry(attempt, info, delay)
        sleep(delay)


async def acall_with_retries(afn: Callable[[], Awaitable[T]], policy: RetryPolicy, *, model: str | None = None,
                             on_retry: OnRetry | None = None,
                             sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                             rng: Any = random) -> tuple[T, int]:
    """:func:`call_with_retries` for coroutines; each attempt is also bounded by ``policy.timeout_s``."""
    attempt = 0
    while True:
        try:
            return await asyncio.wait_for(afn(), timeout=policy.timeout_s), attempt
        except Exception as exc:
            info = classify(exc)
            if not info.provider:
                raise
            if not info.retryable or attempt >= policy.max_retries:
                raise provider_error(info, attempt + 1, model=model) from exc
            attempt += 1
            delay = backoff_delay(attempt, policy, info.retry_after_s, rng)
            if on_retry is not None:
                on_retry(attempt, info, delay)
        await sleep(delay)
