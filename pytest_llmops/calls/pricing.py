"""What a model call cost.

Order of precedence:

1. custom prices from the user's config (``{model: (usd per 1M input tokens, usd per 1M output tokens)}``),
   matched on the full model string (``openai/gpt-4o-mini``) and then without its provider prefix;
2. litellm's bundled cost map (``litellm.cost_per_token``; litellm is only imported if the caller already has
   it loaded or a live call needs it);
3. unknown → ``None`` plus ONE :class:`LlmopsPriceWarning` per model per process.  Never a silent 0.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping

from ..errors import ConfigError


class LlmopsPriceWarning(UserWarning):
    """A model call's cost could not be determined (no custom price, not in litellm's cost map)."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def validate_prices(prices: Mapping[str, object], *, where: str = "llmops prices") -> dict[str, tuple[float, float]]:
    """Check ``{model: (input_per_1m, output_per_1m)}``; ConfigError on bad shapes or negative prices."""
    out: dict[str, tuple[float, float]] = {}
    for model, pair in prices.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ConfigError(
                f"{where}: price of {model!r} must be (usd per 1M input tokens, usd per 1M output tokens), got {pair!r}"
            )
        try:
            p_in, p_out = float(pair[0]), float(pair[1])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: price of {model!r} must be two numbers, got {pair!r}") from None
        if p_in < 0 or p_out < 0 or not (math.isfinite(p_in) and math.isfinite(p_out)):
            raise ConfigError(f"{where}: price of {model!r} must be finite and >= 0, got {pair!r}")
        out[str(model)] = (p_in, p_out)
    return out


def _custom_price(model: str, prices: Mapping[str, tuple[float, float]]) -> tuple[float, float] | None:
    if model in prices:
        return prices[model]
    if "/" in model:
        bare = model.split("/", 1)[1]
        if bare in prices:
            return prices[bare]
    return None


def _litellm_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    import litellm  # noqa: PLC0415 - only reached on live calls, where litellm is loaded anyway

    try:
        p_cost, c_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises bare Exception / NotFoundError for unmapped models
        return None
    total = float(p_cost or 0.0) + float(c_cost or 0.0)
    return total if math.isfinite(total) else None


def warn_unknown_price(model: str) -> None:
    with _warned_lock:
        if model in _warned:
            return
        _warned.add(model)
    warnings.warn(
        f"llmops: no price known for model {model!r}; its calls are reported with cost None (not 0). "
        f"Set a price, e.g. ini `llmops_prices = {model} = 0.15 0.60` (USD per 1M input and output tokens).",
        LlmopsPriceWarning,
        stacklevel=3,
    )


def call_cost(
    model: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    prices: Mapping[str, tuple[float, float]] | None = None,
    *,
    use_litellm: bool = True,
    warn: bool = True,
) -> float | None:
    """USD cost of one call, or ``None`` (with one warning per model, unless ``warn=False``) when no price is known.

    Callers that must finish bookkeeping first (a ``-W error`` run turns the warning into an exception) pass
    ``warn=False`` and call :func:`warn_unknown_price` themselves afterwards.
    """
    p_tokens = int(prompt_tokens or 0)
    c_tokens = int(completion_tokens or 0)
    custom = _custom_price(model, prices or {})
    if custom is not None:
        return (p_tokens * custom[0] + c_tokens * custom[1]) / 1_000_000
    if use_litellm:
        cost = _litellm_cost(model, p_tokens, c_tokens)
        if cost is not None:
            return cost
    if warn:
        warn_unknown_price(model)
    return None


def _reset_warnings_for_tests() -> None:
    with _warned_lock:
        _warned.clear()
