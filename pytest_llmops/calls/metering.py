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
    if not isinstance(usage, dict):
        usage = {}
    # chat/embeddings say prompt/completion tokens; the Responses and Anthropic Messages APIs input/output tokens
    prompt = int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0)
    completion = int(usage.get("completion_tokens") or usage.get("output_tokens") or 0)
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
    ttft: float | None = None,
) -> dict[str, Any]:
    """The call as the run record keeps it; a replayed call costs nothing and reports its recorded cost.

    A streamed call also reports its time to first token (``ttft_s``; replayed: ``recorded_ttft_s``).
    """
    entry = pending.entry if error is None else None  # a failed call reports no recording
    cached = entry is not None
    usage = usage or dict(_NO_USAGE)
    call = {
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
    if pending.stream:
        recorded = (entry.get("stream") or {}) if entry is not None else {}
        call.update(stream=True, ttft_s=None if ttft is None else round(ttft, 6),
                    recorded_ttft_s=recorded.get("ttft_s") if cached else None)
    return call


def cassette_entry(
    pending: PendingCall,
    data: dict[str, Any],
    usage: dict[str, int],
    cost: float | None,
    latency: float,
    provider: str | None,
    *,
    redact_pii: bool,
    stream: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The recording of a live call: its request and response with secrets (and, if asked, PII) scrubbed.

    The stored request is the (normalized) request identity the key was made from.  A streamed call also
    stores ``stream``: ``{"chunks": [...], "ttft_s": ...}``, the chunks in the order they arrived.
    """
    from .scrub import redact_pii_text, scrub_secrets

    request = _keys.recorded_request(pending.identity) if pending.identity else {
        "model": pending.model,
        _keys.PAYLOAD_FIELD[pending.kind]: _keys.canonicalize(pending.payload),
        "params": _keys.key_params(pending.params, pending.kind),
    }
    response = data
    if redact_pii:
        request = redact_pii_text(request)
        response = redact_pii_text(response)
        stream = redact_pii_text(stream) if stream is not None else None
    entry = {
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
    if stream is not None:
        entry["stream"] = scrub_secrets(stream)
    return entry
