"""Short texts the judge writes into metric names, details and failure messages: slugs and clipped quotes."""

from __future__ import annotations

import hashlib
import re

RAW_LIMIT = 2000


def criteria_slug(criteria: str, limit: int = 48) -> str:
    """A short metric-name slug of ``criteria``: lowercase words joined by ``-``, cut at a word boundary."""
    words = re.findall(r"[a-z0-9]+", criteria.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word[:limit]
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or hashlib.sha256(criteria.encode("utf-8")).hexdigest()[:8]


def clip(text: str, limit: int = RAW_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (marked ``[...clipped]``), for raw answers in metric details."""
    return text if len(text) <= limit else text[: limit - 15] + " [...clipped]"


def short(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters and quoted (repr), for error messages."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
