"""User feedback on production answers: which values mean "the user did not like it", and where a case keeps it.

``pytest-llmops goldens import`` writes a trace's feedback attribute to ``metadata.production.feedback`` of
the case (lower-cased); the plugin copies it into the run record's ``golden`` entry of each test of the case,
and ``scorers.shadow`` into the details of its metrics.  The shadow verdict and the diff read it back with
:func:`is_negative`, so "a case from negative feedback" means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: feedback values read as "the user did not like the production answer" (case-insensitive)
NEGATIVE_FEEDBACK = frozenset({"thumbs_down", "thumbs-down", "down", "negative", "bad", "dislike", "-1", "0",
                               "false"})


def is_negative(value: Any) -> bool:
    """True when ``value`` is one of :data:`NEGATIVE_FEEDBACK` (case and surrounding spaces ignored)."""
    return value is not None and str(value).strip().lower() in NEGATIVE_FEEDBACK


def case_feedback(metadata: Mapping[str, Any] | None) -> str | None:
    """The production feedback a golden case's metadata records (``metadata.production.feedback``), if any."""
    production = (metadata or {}).get("production")
    value = production.get("feedback") if isinstance(production, Mapping) else None
    return None if value is None else str(value)
