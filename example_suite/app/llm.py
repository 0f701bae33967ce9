"""The one place the app talks to a model: ``litellm.completion`` with settings from the environment.

``SUPPORT_BOT_MODEL`` (default ``openai/smollm2-135m``), ``SUPPORT_BOT_API_BASE`` (default
``http://127.0.0.1:8765/v1``, an OpenAI-compatible server) and ``SUPPORT_BOT_API_KEY``.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_MODEL = "openai/smollm2-135m"
DEFAULT_API_BASE = "http://127.0.0.1:8765/v1"
REQUEST_TIMEOUT_S = 30.0


def resolve_model(explicit: str | None, prompt_model: str | None) -> str:
    """Explicit argument, then ``SUPPORT_BOT_MODEL``, then the model the prompt pins, then the default."""
    return explicit or os.environ.get("SUPPORT_BOT_MODEL") or prompt_model or DEFAULT_MODEL


def complete(messages: list[dict[str, str]], *, model: str, **params: Any) -> str:
    """Send a chat request and return the assistant text ("" when the model returned none)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    response = litellm.completion(
        model=model,
        messages=messages,
        api_base=os.environ.get("SUPPORT_BOT_API_BASE", DEFAULT_API_BASE),
        api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"),
        timeout=REQUEST_TIMEOUT_S,
        **params,
    )
    return response.choices[0].message.content or ""
