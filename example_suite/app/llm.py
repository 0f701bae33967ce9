"""The one place the app talks to a model: ``litellm.completion`` with settings from the environment.

Answers are streamed (``stream=True``), as support bots stream them to the customer; the text is assembled
from the chunks' deltas.  Classification (triage) asks for the whole JSON answer at once.

``SUPPORT_BOT_MODEL`` (default ``openai/smollm2-135m``), ``SUPPORT_BOT_API_BASE`` (default
``http://127.0.0.1:8765/v1``, an OpenAI-compatible server) and ``SUPPORT_BOT_API_KEY``.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_MODEL = "openai/smollm2-135m"
DEFAULT_API_BASE = "http://127.0.0.1:8765/v1"
REQUEST_TIMEOUT_S = 120.0


def resolve_model(explicit: str | None, prompt_model: str | None) -> str:
    """Explicit argument, then ``SUPPORT_BOT_MODEL``, then the model the prompt pins, then the default."""
    return explicit or os.environ.get("SUPPORT_BOT_MODEL") or prompt_model or DEFAULT_MODEL


def complete(messages: list[dict[str, str]], *, model: str, stream: bool = False, **params: Any) -> str:
    """Send a chat request and return the assistant text ("" when the model returned none).

    With ``stream=True`` the answer arrives chunk by chunk (what a chat UI shows as it is typed) and the
    returned text is the chunks' deltas joined.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    response = litellm.completion(
        model=model,
        messages=messages,
        api_base=os.environ.get("SUPPORT_BOT_API_BASE", DEFAULT_API_BASE),
        api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"),
        timeout=REQUEST_TIMEOUT_S,
        stream=stream,
        **params,
    )
    if not stream:
        return response.choices[0].message.content or ""
    parts = []
    for chunk in response:  # a support bot would forward each delta to the customer's screen here
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
    return "".join(parts)
