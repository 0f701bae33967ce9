"""Metering of model calls: usage, cost of live and replayed calls, the metered call and the recorded entry."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import keys as _keys
from .litellm_loader import load_litellm

if TYPE_CHECKING:
    from .pending import PendingCall

_NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def usage_of(response: dict[str, Any]) -> dict[str, int]:
    """``{prompt_tokens, completion_tokens, total_tokens}`` of a response (zeros where it says nothing)."""
    usage = response.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = int(usage.get("total_tokens") or (prompt + completion))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def as_dict(response: Any) -> dict[str, Any]:
    """A litellm response object (or a dict) as a JSON-ready dict."""
    if isinstance(response, dict):
        return response
    dump = getattr(response, "model_dump", None)
    if dump is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic serializer chatter about litellm's loose field types
            return dump(mode="json")
    return dict(response)


def error_info(error: BaseException) -> dict[str, Any]:
    """``{kind, type, message}``; ``kind`` is the provider fault kind (rate_limit, server, ...) when known."""
    kind = getattr(error, "kind", None)
    return {
        "kind": kind if isinstance(kind, str) else type(error).__name__,
        "type": type(error).__name__,
        "message": str(error),
    }


def live_cost(model: str, usage: dict[str, int], prices: Mapping[str, tuple[float, float]]) -> float | None:
    """Today's price of a live call's tokens; None when the model has no known price (warned about later)."""
    from .pricing import call_cost

    return call_cost(model, usage["prompt_tokens"], usage["completion_tokens"], prices, warn=False)


def recorded_cost(
    entry: dict[str, Any], model: str, usage: dict[str, int], prices: Mapping[str, tuple[float, float]]
) -> float | None:
    """The cost stored with the recording; when it was unpriced then, today's price for its tokens."""
    if entry.get("cost_usd") is not None:
        return entry["cost_usd"]
    from .pricing import call_cost

    return call_cost(model, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), prices)


def provider_of(model: str) -> str | None:
    """The provider litellm routes ``model`` to (``openai``, ``anthropic``...), else the model's prefix."""
    try:
        return load_litellm().get_llm_provider(model)[1]
    except Exception:  # unknown provider prefix: not our error to raise here
        return model.split("/", 1)[0] if "/" in model else None


def metered_call(
    pending: PendingCall,
    prices: Mapping[str, tuple[float, float]],
    *,
    usage: dict[str, int] | None = None,
    cost: float | None = 0.0,
    latency: float = 0.0,
    retries: int = 0,
    provider: str | None = None,
    error: BaseException | None = None,
) -> dict[str, Any]:
    """The call as the run record keeps it; a replayed call costs nothing and reports its recorded cost."""
    entry = pending.entry if error is None else None  # a failed call reports no recording
    cached = entry is not None
    usage = usage or dict(_NO_USAGE)
    return {
        "kind": pending.kind,
        "model": pending.model,
        "provider": provider,
        **usage,
        "cost_usd": 0.0 if cached else cost,
        "replayed_cost_usd": recorded_cost(entry, pending.model, usage, prices) if entry is not None else None,
        "latency_s": latency,
        "recorded_latency_s": entry.get("latency_s") if entry is not None else None,
        "cached": cached,
        "retries": retries,
        "error": None if error is None else error_info(error),
        "key": pending.key[:12],
        "sample": pending.sample,
        "source": pending.source,
    }


def cassette_entry(
    pending: PendingCall,
    data: dict[str, Any],
    usage: dict[str, int],
    cost: float | None,
    latency: float,
    provider: str | None,
    *,
    redact_pii: bool,
) -> dict[str, Any]:
    """The recording of a live call: its request and response with secrets (and, if asked, PII) scrubbed."""
    from .scrub import redact_pii_text, scrub_secrets

    request = {
        "model": pending.model,
        _keys.PAYLOAD_FIELD[pending.kind]: _keys.canonicalize(pending.payload),
        "params": _keys.key_params(pending.params),
    }
    response = data
    if redact_pii:
        request = redact_pii_text(request)
        response = redact_pii_text(response)
    return {
        "key": pending.key,
        "kind": pending.kind,
        "sample": pending.sample,
        "occurrence": pending.occurrence,
        "request": scrub_secrets(request),
        "response": scrub_secrets(response),
        "usage": usage,
        "cost_usd": cost,
        "latency_s": round(latency, 4),
        "provider": provider,
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
