"""What a recording stores: secrets always scrubbed, and PII redacted from text fields when the user asks.

Secret rules live in :mod:`pytest_llmops.common.secrets` (re-exported here for the call engine).
:func:`redact_pii_text` runs stored message and response text through :func:`pytest_llmops.common.pii.redact_pii`
when ``--llmops-redact-pii`` is on.  Replay keys are always computed from the original, unscrubbed request.
"""

from __future__ import annotations

from typing import Any

from ..common.pii import redact_pii
from ..common.secrets import is_secret_field, scrub_secrets, secret_env_values

__all__ = ["is_secret_field", "redact_pii_text", "scrub_secrets", "secret_env_values"]

_TEXT_FIELDS = frozenset({"content", "text", "prompt", "input", "messages", "arguments", "reasoning_content"})


def redact_pii_text(value: Any) -> Any:
    """Deep copy of ``value`` with every ``content``/``text``/``prompt``/``input`` string PII-redacted."""
    return _redact(value, inside_text_field=False)


def _redact(value: Any, inside_text_field: bool) -> Any:
    if isinstance(value, str):
        return redact_pii(value) if inside_text_field else value
    if isinstance(value, dict):
        return {k: _redact(v, inside_text_field or k in _TEXT_FIELDS) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, inside_text_field) for v in value]
    return value
