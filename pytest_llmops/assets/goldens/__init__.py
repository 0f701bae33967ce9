"""Golden evaluation sets: cases with an input, optional expectations, tags and an approved output.

Supported files (UTF-8):

* ``.jsonl`` – one JSON object per line (blank lines are skipped);
* ``.json``  – a list of objects, or ``{"cases": [...]}``;
* ``.yaml`` / ``.yml`` – a list of mappings, or ``{cases: [...]}`` (safe loading: ``!!python/...`` is refused);
* ``.csv``   – a header row, one case per row.  ``tags``, ``contexts`` and ``relevant_ids`` cells are
  ``;``-separated or JSON arrays (``relevant_ids`` may also be a JSON object of graded relevance);
  ``metadata.<key>`` columns go into ``metadata``, ``input.<key>`` / ``expected.<key>`` columns build a
  mapping input / expectation; ``input``, ``expected`` and ``approved`` cells that hold a JSON object (or,
  for ``approved``, a JSON array) are read as JSON, any other cell as text.

Every case is validated (:class:`GoldenCase`); all problems in a file (up to ``raw.MAX_REPORTED_ERRORS``)
are reported together in one :class:`~pytest_llmops.errors.GoldenError`, each as ``file:line: problem``.
:func:`update_approved` writes approved outputs back, preserving the file's format (see ``update``).

Modules: ``models`` (the case and its validation), ``raw`` (unvalidated cases, problem collection),
``readers`` / ``csv_reader`` (the four formats), ``loader`` (:class:`GoldenSet`, loading and caching),
``update`` with ``edit_json`` / ``edit_yaml`` / ``edit_csv`` (approved-output writers), ``append`` (new cases
appended, the file's format kept; used by ``pytest-llmops goldens import``).
"""

from __future__ import annotations

from ...errors import GoldenError
from .loader import GoldenSet, clear_cache, load_golden_set, parse_golden_text
from .models import GoldenCase
from .readers import SUPPORTED_SUFFIXES, golden_format
from .update import lock_path, update_approved

__all__ = [
    "GoldenCase",
    "GoldenError",
    "GoldenSet",
    "SUPPORTED_SUFFIXES",
    "clear_cache",
    "golden_format",
    "load_golden_set",
    "lock_path",
    "parse_golden_text",
    "update_approved",
]
