"""Keep secrets (and optionally PII) out of recorded cassettes.

:func:`scrub_secrets` returns a deep copy of a request/response structure in which

* dict entries whose key names a credential (``api_key``, ``Authorization``, ``api-key``, ``x-api-key``,
  ``*_token``/``*_secret``/``*_password`` ...) have their value replaced by ``"<redacted>"``;
* every occurrence of the value of an environment variable whose name matches ``*_API_KEY``, ``*_TOKEN``,
  ``*_SECRET`` or ``*_PASSWORD`` (any case) inside any string is replaced by ``<redacted:ENV_NAME>``;
* ``Bearer <anything>`` strings are reduced to ``Bearer <redacted>``.

:func:`redact_pii_text` runs stored message and response text through
``pytest_llmops.scorers.pii.redact_pii`` (imported lazily) when the user enabled ``redact_pii``.  Replay keys
are always computed from the original, unscrubbed request.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable
from typing import Any

SECRET_ENV_PATTERNS: tuple[str, ...] = ("*_API_KEY", "*_TOKEN", "*_SECRET", "*_PASSWORD")
SECRET_FIELD_NAMES: frozenset[str] = frozenset(
    {"api_key", "apikey", "api-key", "x-api-key", "authorization", "proxy-authorization", "access_token", "password", "secret"}
)
_SECRET_FIELD_SUFFIXES = ("_api_key", "_token", "_secret", "_password", "-api-key", "-token")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}")
#: Values shorter than this are not scrubbed by value (replacing "1" or "true" everywhere would wreck the file).
MIN_SECRET_LENGTH = 6


def secret_env_values(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """``(value, ENV_NAME)`` pairs of secret-looking env vars, longest value first."""
    env = os.environ if environ is None else environ
    found = []
    for name, value in env.items():
        upper = name.upper()
        if value and len(value) >= MIN_SECRET_LENGTH and any(fnmatch.fnmatchcase(upper, p) for p in SECRET_ENV_PATTERNS):
            found.append((value, name))
    found.sort(key=lambda pair: -len(pair[0]))
    return found


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELD_NAMES or lowered.endswith(_SECRET_FIELD_SUFFIXES)


def scrub_secrets(value: Any, secrets: list[tuple[str, str]] | None = None) -> Any:
    """A deep copy of ``value`` with credentials and secret env values removed (see module doc)."""
    pairs = secret_env_values() if secrets is None else secrets
    return _scrub(value, pairs)


def _scrub_text(text: str, pairs: list[tuple[str, str]]) -> str:
    for secret, name in pairs:
        if secret in text:
            text = text.replace(secret, f"<redacted:{name}>")
    return _BEARER.sub(r"\1 <redacted>", text)


def _scrub(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, pairs)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and is_secret_field(k) and v is not None:
                out[k] = "<redacted>"
            else:
                out[k] = _scrub(v, pairs)
        return out
    if isinstance(value, (list, tuple)):
        return [_scrub(v, pairs) for v in value]
    return value


def _pii_redactor() -> Callable[[str], str]:
    from pytest_llmops.scorers.pii import redact_pii  # lazy: another layer, possibly heavier

    def redact(text: str) -> str:
        result = redact_pii(text)
        if isinstance(result, str):
            return result
        if isinstance(result, tuple) and result and isinstance(result[0], str):
            return result[0]
        text_attr = getattr(result, "text", None)
        return text_attr if isinstance(text_attr, str) else str(result)

    return redact


def redact_pii_text(value: Any) -> Any:
    """Deep copy of ``value`` with every ``content``/``text``/``prompt``/``input`` string PII-redacted."""
    redact = _pii_redactor()
    return _redact(value, redact, inside_text_field=False)


_TEXT_FIELDS = frozenset({"content", "text", "prompt", "input", "messages", "arguments", "reasoning_content"})


def _redact(value: Any, redact: Callable[[str], str], inside_text_field: bool) -> Any:
    if isinstance(value, str):
        return redact(value) if inside_text_field else value
    if isinstance(value, dict):
        return {k: _redact(v, redact, inside_text_field or k in _TEXT_FIELDS) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(v, redact, inside_text_field) for v in value]
    return value
