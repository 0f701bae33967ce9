"""The diff's "Judge" section: per audited criterion, how far base's and head's judges can be believed.

A run with a ``@pytest.mark.judge_audit`` test carries, per criterion, the audit of its judge against human
labels (``judge_audits``: kappa with its 95% interval and the gate ``lower bound >= min_kappa``) and, where the
run also has judge verdicts of that criterion, their pass rate corrected for the audited sensitivity and
specificity (``judge_pass_rates``: Rogan-Gladen, :mod:`pytest_llmops.scorers.judge.correction`).  This module
lines those figures up for base and head, and counts the head's judge verdicts whose audit failed its gate --
verdicts a reviewer should not trust.  Nothing here changes the diff's findings; it says how to read them.
Records without audits give no rows, and the views show no section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .format import fmt_pct
from .load import ReviewRecord

COLUMNS = ["criterion", "run", "audit: κ [95% CI]", "gate", "raw agreement", "judge pass rate [95% CI]",
           "corrected (Rogan–Gladen) [95% CI]", "verdicts"]
TITLE = "⚖ Judge (audited against human labels)"
NOTE = ("corrected: the judge's pass rate corrected for its audited sensitivity and specificity, with the interval "
        "widened by the audit's uncertainty — the number to believe")


@dataclass
class JudgeSide:
    """One run's figures for one criterion; ``None`` where the run has no audit or no verdicts of it."""

    audit_test: str | None = None
    judge_model: str | None = None
    items: int | None = None
    kappa: float | None = None
    kappa_ci: list[float] | None = None
    raw_agreement: float | None = None
    min_kappa: float | None = None
    gate_passed: bool | None = None
    verdicts: int | None = None
    passed: int | None = None
    observed: float | None = None
    observed_ci: list[float] | None = None
    sensitivity: float | None = None
    specificity: float | None = None
    corrected: float | None = None
    corrected_ci: list[float] | None = None
    reason: str | None = None  # why no correction exists
    untrusted_verdicts: int = 0  # judge verdicts of this run tagged with an audit that failed its gate


@dataclass
class JudgeCriterion:
    criterion: str
    slug: str
    base: JudgeSide
    head: JudgeSide

    @property
    def head_untrusted(self) -> bool:
        """The head's judge on this criterion failed its audit's gate (its verdicts are not to be trusted)."""
        return self.head.gate_passed is False


def _dump(item: Any) -> dict[str, Any]:
    return item.model_dump() if hasattr(item, "model_dump") else dict(item)


def _untrusted(record: ReviewRecord) -> dict[str, int]:
    """Per criterion slug: judge verdicts (audit tests excluded) tagged with an audit that failed its gate."""
    counts: dict[str, int] = {}
    for test in record.tests:
        if test.get("judge_audit"):
            continue
        for metric in test.get("metrics") or ():
            audit = (metric.get("details") or {}).get("audit")
            name = str(metric.get("name", ""))
            if isinstance(audit, dict) and audit.get("passed") is False and ":" in name:
                slug = name.partition(":")[2]
                counts[slug] = counts.get(slug, 0) + 1
    return counts


def _sides(record: ReviewRecord) -> dict[str, tuple[str, JudgeSide]]:
    sides: dict[str, tuple[str, JudgeSide]] = {}
    for raw in getattr(record.meta, "judge_audits", None) or ():
        audit = _dump(raw)
        agreement = audit.get("agreement") or {}
        sides[audit["slug"]] = (audit["criterion"], JudgeSide(
            audit_test=audit.get("audit_test"), judge_model=audit.get("judge_model"), items=audit.get("items"),
            kappa=agreement.get("kappa"), kappa_ci=agreement.get("kappa_ci"),
            raw_agreement=agreement.get("raw_agreement"), min_kappa=audit.get("min_kappa"),
            gate_passed=audit.get("passed")))
    for raw in getattr(record.meta, "judge_pass_rates", None) or ():
        rate = _dump(raw)
        criterion, side = sides.setdefault(rate["slug"], (rate["criterion"], JudgeSide()))
        for key in ("verdicts", "passed", "observed", "observed_ci", "sensitivity", "specificity", "corrected",
                    "corrected_ci", "reason"):
            setattr(side, key, rate.get(key))
    for slug, count in _untrusted(record).items():
        if slug in sides:
            sides[slug][1].untrusted_verdicts = count
    return sides


def judge_criteria(base: ReviewRecord, head: ReviewRecord) -> list[JudgeCriterion]:
    """The audited criteria of either run, sorted by criterion; empty when neither run audited its judge."""
    base_sides, head_sides = _sides(base), _sides(head)
    out = []
    for slug in base_sides.keys() | head_sides.keys():
        criterion = (head_sides.get(slug) or base_sides[slug])[0]
        out.append(JudgeCriterion(criterion, slug, base_sides.get(slug, ("", JudgeSide()))[1],
                                  head_sides.get(slug, ("", JudgeSide()))[1]))
    return sorted(out, key=lambda c: (c.criterion, c.slug))


# -- text shared by the markdown, text and HTML views ------------------------------------------------------------


def _rate(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return "—"
    return fmt_pct(value) + (f" [{fmt_pct(interval[0])}, {fmt_pct(interval[1])}]" if interval else "")


def _kappa(side: JudgeSide) -> str:
    if side.gate_passed is None:
        return "no audit"
    if side.kappa is None:
        return "n/a"
    ci = f" [{side.kappa_ci[0]:.2f}, {side.kappa_ci[1]:.2f}]" if side.kappa_ci else ""
    return f"{side.kappa:.2f}{ci}" + (f" ({side.items} items)" if side.items is not None else "")


def _gate(side: JudgeSide) -> str:
    if side.gate_passed is None:
        return "—"
    bound = f"κ's lower bound ≥ {side.min_kappa:g}" if side.min_kappa is not None else "the gate"
    return f"✅ passed: {bound}" if side.gate_passed else f"❌ failed: needs {bound}"


def _corrected(side: JudgeSide) -> str:
    if side.corrected is not None:
        return _rate(side.corrected, side.corrected_ci)
    return f"n/a: {side.reason}" if side.reason else "—"


def _verdicts(side: JudgeSide, run: str) -> str:
    if side.verdicts is None:
        return "—"
    text = f"{side.passed}/{side.verdicts} passed"
    if side.untrusted_verdicts:
        text += f"; ⚠ {side.untrusted_verdicts} from a judge that failed its audit" + (
            ": do not trust them" if run == "head" else "")
    return text


def judge_rows(criteria: list[JudgeCriterion]) -> list[list[str]]:
    """Plain-text cells (escape them for markdown), two rows per criterion: base, then head."""
    rows = []
    for c in criteria:
        for run, side in (("base", c.base), ("head", c.head)):
            rows.append([c.criterion, run, _kappa(side), _gate(side),
                         fmt_pct(side.raw_agreement) if side.raw_agreement is not None else "—",
                         _rate(side.observed, side.observed_ci), _corrected(side), _verdicts(side, run)])
    return rows


def judge_section(criteria: list[JudgeCriterion], escape: Any) -> tuple[str, str, list[str], list[list[str]]]:
    """Key, title, columns and escaped rows of the markdown section (no rows: no section)."""
    return "judge", TITLE, COLUMNS, [[escape(v) for v in row] for row in judge_rows(criteria)]


def judge_warnings(criteria: list[JudgeCriterion]) -> list[str]:
    """One line per criterion whose head judge failed its audit's gate."""
    return [f"head's judge on {c.criterion!r} failed its audit ({c.head.audit_test}): kappa {_kappa(c.head)}, "
            f"{_gate(c.head)[2:]}; do not trust its verdicts"
            + (f" ({c.head.untrusted_verdicts} in this run)" if c.head.untrusted_verdicts else "")
            for c in criteria if c.head_untrusted]


def judge_text(criteria: list[JudgeCriterion]) -> list[str]:
    """Lines for the terminal: per criterion and run, kappa, gate, observed → corrected pass rate."""
    lines = []
    for c in criteria:
        for run, side in (("base", c.base), ("head", c.head)):
            line = f"{c.criterion} [{run}]: audit κ {_kappa(side)}, gate {_gate(side)}"
            if side.observed is not None:
                line += (f"; pass rate {_rate(side.observed, side.observed_ci)} → corrected {_corrected(side)} "
                         f"({_verdicts(side, run)})")
            lines.append(line)
    return lines
