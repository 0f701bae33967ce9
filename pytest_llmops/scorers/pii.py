"""PII guardrail: ``assert_no_pii`` over the detectors in :mod:`pytest_llmops.common.pii` (re-exported here)."""

from __future__ import annotations

from collections.abc import Iterable

from ..common.pii import PII_KINDS, PIIMatch, check_kinds, find_pii, mask, redact_pii
from ..record.recorder import record_metric

__all__ = ["PII_KINDS", "PIIMatch", "assert_no_pii", "find_pii", "mask", "redact_pii"]


def assert_no_pii(text: str, kinds: Iterable[str] | None = None) -> None:
    """Fail when ``text`` contains PII; records ``pii_found`` (count, max 0) with masked matches only."""
    wanted = check_kinds(kinds)
    matches = find_pii(text, wanted)
    details = {
        "kinds_checked": list(wanted),
        "kinds_found": sorted({m.kind for m in matches}),
        "matches": [{"kind": m.kind, "start": m.start, "end": m.end, "masked": m.masked} for m in matches],
    }
    record_metric("pii_found", len(matches), max=0, scorer="pii", details=details)
    if matches:
        raise AssertionError(f"PII found ({len(matches)}): " + "; ".join(m.describe() for m in matches))
