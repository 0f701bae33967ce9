"""Canonical JSON and content hashes: one definition for prompt versions, golden sets and replay keys."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any, *, allow_nan: bool = True) -> str:
    """Keys sorted, no whitespace, UTF-8 kept: equal data gives equal text whatever its order or layout."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan)


def content_digest(value: Any, *, allow_nan: bool = True) -> str:
    """sha256 hex digest of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(value, allow_nan=allow_nan).encode("utf-8")).hexdigest()
