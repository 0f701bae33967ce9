"""Secrets never reach a file: which env vars and fields count as secrets, and how text and data are scrubbed.

* a dict entry whose key names a credential (``api_key``, ``Authorization``, ``x-api-key``, ``*_token`` ...) has
  its value replaced by ``<redacted>``;
* every occurrence of the value of an environment variable named ``*_API_KEY``, ``*_APIKEY``, ``*_TOKEN``,
  ``*_SECRET`` or ``*_PASSWORD`` (any case, values of 6+ characters) becomes ``<redacted:ENV_NAME>``;
* ``Bearer <anything>`` becomes ``Bearer <redacted>``, and well-known key shapes (``sk-…``, ``ghp_…``,
  ``xox?-…``) become ``<redacted>``.
"""

from __future__ import annotations

import os
import re
from typing import Any

REDACTED = "<redacted>"
SECRET_ENV = re.compile(r".*(_API_KEY|_APIKEY|_TOKEN|_SECRET|_PASSWORD)$", re.IGNORECASE)
#: option and argument names whose value is a secret (``--api-key=…``, ``api_key=`` in a marker)
SECRET_ARG = re.compile(r"(key|token|secret|password|passwd|authorization)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|ghp_[A-Za-z0-9]{20,}|xox[abp]-[A-Za-z0-9\-]{10,})")
SECRET_FIELD_NAMES: frozenset[str] = frozenset(
    {"api_key", "apikey", "api-key", "x-api-key", "authorization", "proxy-authorization", "access_token", "password",
     "secret"}
)
_SECRET_FIELD_SUFFIXES = ("_api_key", "_token", "_secret", "_password", "-api-key", "-token")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{6,}")
#: Values shorter than this are not scrubbed by value (replacing "1" or "true" everywhere would wreck the file).
MIN_SECRET_LENGTH = 6


def secret_env_values(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """``(value, ENV_NAME)`` pairs of secret-looking env vars, longest value first."""
    env = os.environ if environ is None else environ
    found = [(value, name) for name, value in env.items()
             if value and len(value) >= MIN_SECRET_LENGTH and SECRET_ENV.match(name)]
    found.sort(key=lambda pair: -len(pair[0]))
    return found


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELD_NAMES or lowered.endswith(_SECRET_FIELD_SUFFIXES)


def scrub_text(text: str, secrets: list[tuple[str, str]] | None = None) -> str:
    """``text`` with secret env values, bearer tokens and well-known key shapes replaced."""
    for value, name in secret_env_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, f"<redacted:{name}>")
    text = _BEARER.sub(r"\1 <redacted>", text)
    return SECRET_VALUE.sub(REDACTED, text)


def scrub_secrets(value: Any, secrets: list[tuple[str, str]] | None = None) -> Any:
    """A deep copy of ``value`` with credential fields and secret values removed (see the module doc)."""
    return _scrub(value, secret_env_values() if secrets is None else secrets)


def _scrub(value: Any, pairs: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, pairs)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and is_secret_field(k) and v is not None else _scrub(v, pairs)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, pairs) for v in value]
    return value
