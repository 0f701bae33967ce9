"""Cases from negative production feedback that now pass (issue 19: "the diff lists them").

A test is *from negative feedback* when the golden case it ran records a negative user verdict on the
production answer: the run record's ``golden.feedback`` (the plugin copies the case's
``metadata.production.feedback`` there) or a metric whose details say ``negative_feedback`` (what
``scorers.shadow.shadow_compare`` records).  Both ``pytest-llmops diff`` and ``pytest-llmops shadow`` use
:func:`negative_feedback`; the diff lists such tests that failed (or did not run) in base and pass in head,
and counts the ones that still fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..common.feedback import is_negative
from .findings import Change

PASSED = frozenset({"passed", "xpassed"})


def negative_feedback(test: Mapping[str, Any]) -> bool:
    """True when the run-record test entry ran a case whose production answer got negative feedback."""
    golden = test.get("golden") or {}
    if is_negative(golden.get("feedback")):
        return True
    return any((m.get("details") or {}).get("negative_feedback") is True for m in test.get("metrics") or ())


def passed(test: Mapping[str, Any]) -> bool:
    return test.get("outcome") in PASSED


@dataclass
class FeedbackFixes:
    """Tests of cases from negative feedback: the ones head fixed, and the ones still failing in head."""

    now_passing: list[Change] = field(default_factory=list)  # base outcome None: the test was not in base
    still_failing: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.now_passing or self.still_failing)

    def summary(self) -> str:
        return (f"{len(self.now_passing)} case(s) from negative feedback now pass, "
                f"{len(self.still_failing)} still failing")


def feedback_fixes(base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]) -> FeedbackFixes:
    """Compare the test entries of two runs (by node id): which cases from negative feedback now pass."""
    fixes = FeedbackFixes()
    for nodeid in sorted(head):
        test = head[nodeid]
        before = base.get(nodeid)
        if not (negative_feedback(test) or (before is not None and negative_feedback(before))):
            continue
        if passed(test) and (before is None or not passed(before)):
            fixes.now_passing.append(Change(nodeid, None if before is None else before.get("outcome"),
                                            test.get("outcome"), "not in base" if before is None else ""))
        elif test.get("outcome") == "failed":
            fixes.still_failing.append(nodeid)
    return fixes
