"""Refuse a diff that cannot mean anything: records of different suites, sampled tests without their counts."""

from __future__ import annotations

from ..errors import ReportError
from .load import ReviewRecord
from .views import TestView

MIN_MATCHED_SHARE = 0.2  # below this share of the smaller record's tests matched, the suites differ
MIN_TESTS = 3


def check_comparable(base: ReviewRecord, head: ReviewRecord, base_views: dict[str, TestView],
                     head_views: dict[str, TestView]) -> None:
    """Raise ReportError (exit 2 from the CLI) with what is wrong and what to do."""
    for record, views in ((base, base_views), (head, head_views)):
        missing = sorted(v.nodeid for v in views.values() if v.sampling_counts_missing)
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise ReportError(
                f"{record.label}: sampled test(s) without per-sample counts (sampling.passes/failures): "
                f"{', '.join(missing[:3])}{more}; their pass rates cannot be compared — re-run them with this "
                "pytest-llmops version to write a complete record")
    smaller = min(len(base_views), len(head_views))
    matched = len(base_views.keys() & head_views.keys())
    if smaller >= MIN_TESTS and matched < MIN_MATCHED_SHARE * smaller:
        raise ReportError(
            f"{base.label} and {head.label} look like records of different suites: only {matched} of "
            f"{len(base_views)} / {len(head_views)} tests match by node id (at least "
            f"{MIN_MATCHED_SHARE:.0%} of the smaller record must); compare two runs of the same suite")
