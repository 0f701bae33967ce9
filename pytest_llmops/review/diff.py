"""Diff two run records (base → head) into findings a PR reviewer can trust, test by test *and* for the run.

Matching is by node id (it carries the golden case id and prompt-version parametrization); tests only in
one run are listed as added/removed, never as regressions.  The unit of analysis decides the rule:

``outcome``          a **deterministic** test (every model call replayed in both runs, or none made) that
                     passed (or xpassed) in base and failed in head; ``metric-threshold``: such a test whose
                     metric met its bound in base and misses it in head.  Errors are listed apart and never
                     count; error in base and failed in head is "new failure (base errored)".
``flip``             a **single live test** (a call made live, no ``@sampling``) that flipped or crossed a
                     bound: one sample, listed as "unconfirmed (one sample)" with the advice to sample it.
                     Not a regression; ``--fail-on flip`` fails on it.  Many of them together are judged by
                     ``run-passrate`` (exact McNemar over the single live tests).
``sampled``          a sampled test: its pass rates compared (one-sided Fisher exact test on k/n vs k/n).
``golden-passfail``  a **golden set** (test function + golden path + the remaining parameter ids, i.e. per
                     prompt version), paired per case id: exact McNemar; ``golden-metric``: per metric, one-sided
                     Wilcoxon signed-rank.  Per-case flips and threshold crossings are the group's evidence.
``cost``/``tokens``/``latency``  deterministic pairs: per test and for the run, up more than the threshold
                     (``cost_pct``/``tokens_pct`` 20%, p95 ``latency_pct`` 50%).  With live calls: per golden
                     group and for the whole run, the rise must exceed the threshold *and* be significant
                     (:mod:`.growth`); one long live answer is noise.
``metric-drop``, ``aggregate``, ``prompt-edit``  as before (tolerances, run-level checks, edited prompts).

Every statistical comparison of the diff is one family (:mod:`.family`): Tarone's screen drops what could
never be significant, then the false discovery rate (Benjamini–Hochberg) is controlled by default, or
Benjamini–Yekutieli, Holm's family-wise error rate, or nothing (``DiffOptions.correction``).  Improvements
follow the same rules mirrored.  Each comparison states its effect with a 95% interval and its minimum
detectable effect at 80% power (:mod:`.power`); one whose MDE exceeds ``min_effect`` is "inconclusive".

With a nightly history (``DiffOptions.history``, ``--history DIR``) the family is decided exactly as above,
then each regression must also exceed its series' run-to-run noise in the history, or it is listed as
"within nightly noise" (:mod:`.history_review`); the history never makes a regression.

"Worse" for a metric: lower, unless the metric was recorded with only a ``max`` bound (e.g. ``pii_found``),
then higher.  Everything is sorted, so the same inputs give the same result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from .comparable import check_comparable
from .compare_goldens import compare_goldens
from .compare_prompts import prompt_changes
from .compare_run import aggregate_regressions, metric_changes, run_growth, run_passrate, totals
from .compare_tests import compare_tests
from .family import CORRECTION_TEXT, CORRECTIONS, decide, testable
from .feedback import FeedbackFixes, feedback_fixes
from .findings import Change, ErrorEntry, Finding, GoldenGroup, MetricChange, RunSide, TotalRow, Verdicts
from .growth import run_growth_comparisons
from .history_review import HistoryInputs, HistoryUse, apply_history
from .judge_section import JudgeCriterion, judge_criteria, judge_warnings
from .load import ReviewRecord, as_review_record, gc_paused
from .options import DiffOptions
from .views import ERROR, TestView, run_side, test_views


@dataclass
class DiffResult:
    base: RunSide
    head: RunSide
    options: DiffOptions
    matched: int
    totals: list[TotalRow]
    regressions: list[Finding]
    improvements: list[Finding]
    noise: list[Finding]
    prompt_changes: list[Finding]
    errors: list[ErrorEntry]
    new_failures_base_errored: list[Change]
    other_changes: list[Change]
    still_failing: list[Change]
    added: list[Change]
    removed: list[Change]
    golden_groups: list[GoldenGroup]
    metric_changes: list[MetricChange]
    warnings: list[str]
    unconfirmed: list[Finding] = field(default_factory=list)
    inconclusive: list[Finding] = field(default_factory=list)
    family_size: int = 0
    history: HistoryUse | None = None  # the nightly noise model's use (``--history``)
    feedback: FeedbackFixes = field(default_factory=FeedbackFixes)  # cases from negative feedback
    judge: list[JudgeCriterion] = field(default_factory=list)  # audited judges of either run (:mod:`.judge_section`)

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def family_text(self) -> str:
        """What the statistical comparisons of this diff control, for the header."""
        rate = CORRECTION_TEXT.get(self.options.correction, self.options.correction)
        text = (f"{self.family_size} statistical comparison(s) in one family; {rate} controlled at "
                f"{self.options.alpha:g}" if self.options.correction != "none" else
                f"{self.family_size} statistical comparison(s), no multiplicity correction (α = {self.options.alpha:g} "
                "each)")
        if self.inconclusive:
            text += (f"; {len(self.inconclusive)} inconclusive (could not detect a drop of "
                     f"{self.options.min_effect:g} with 80% power)")
        return text

    def history_text(self) -> str:
        """How the nightly history was used as the noise model ("" without ``--history``)."""
        return self.history.text() if self.history is not None else ""

    def headline(self) -> str:
        if self.regressions:
            n = len(self.regressions)
            verdict = f"❌ {n} regression{'s' if n != 1 else ''}"
        elif self.base.tests == 0 and self.head.tests == 0:
            verdict = "⚠ nothing to compare: both records have no tests"
        else:
            verdict = "✅ no regressions"
        if self.history is not None and self.history.held:
            verdict += f" ({self.history.held} within nightly noise)"
        if self.unconfirmed:
            verdict += f" ({len(self.unconfirmed)} unconfirmed flip{'s' if len(self.unconfirmed) != 1 else ''})"
        return " — ".join([*self.alerts(), verdict]) if self.alerts() else verdict

    def alerts(self) -> list[str]:
        out = []
        for side, name in ((self.head, "head"), (self.base, "base")):
            if side.interrupted:
                out.append(f"⚠ {name} run was interrupted — partial comparison")
        for side, name in ((self.base, "base"), (self.head, "head")):
            if side.tests == 0 and not (self.base.tests == 0 and self.head.tests == 0):
                out.append(f"⚠ {name} record has no tests")
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, options=replace(self.options, history=None)))  # the model itself is no result
        data["headline"] = self.headline()
        data["regressed"] = self.regressed
        data["options"]["metric_tolerances"] = {k: list(v) for k, v in sorted(self.options.metric_tolerances.items())}
        return data


def diff_records(base: Any, head: Any, options: DiffOptions | None = None, *, base_label: str | None = None,
                 head_label: str | None = None) -> DiffResult:
    """Compare two run records (base → head): ReviewRecord, RunRecord or record dicts."""
    with gc_paused():
        return _diff(base, head, options or DiffOptions(), base_label, head_label)


def _diff(base: Any, head: Any, options: DiffOptions, base_label: str | None, head_label: str | None) -> DiffResult:
    if options.correction not in CORRECTIONS:
        raise ConfigError(f"correction {options.correction!r}: expected one of {', '.join(CORRECTIONS)}")
    base, head = as_review_record(base, base_label or "base"), as_review_record(head, head_label or "head")
    base_views, head_views = test_views(base), test_views(head)
    check_comparable(base, head, base_views, head_views)
    base_side, head_side = run_side(base, base_views), run_side(head, head_views)
    base_side.label, head_side.label = base_label or base.label, head_label or head.label
    tests = compare_tests(base_views, head_views, options)
    live = any(v.live for v in base_views.values()) or any(v.live for v in head_views.values())
    run = Verdicts() if live else run_growth(base_side, head_side, options)
    prompts = prompt_changes(base, head, base_views, head_views)
    goldens = compare_goldens(base_views, head_views, options)
    metrics = metric_changes(base_views, head_views, options)
    passrate = run_passrate(base_views, head_views, options)
    family = [*tests.comparisons, *goldens.comparisons, *([passrate] if passrate else []),
              *(run_growth_comparisons(base_views, head_views, base_side, head_side, options) if live else [])]
    decided = decide(family, options.alpha, options.correction)
    goldens.copy_adjusted()
    edits = [f for f in prompts if f.kind == "prompt-edit"] if options.prompt_edit_is_regression else []
    regressions = [*tests.regressions, *run.regressions, *edits, *decided.regressions, *metrics.regressions,
                   *aggregate_regressions(base, head)]
    noise, unconfirmed, history = decided.noise, tests.unconfirmed, None
    if options.history is not None:  # decided as without it; the history may only hold regressions back
        inputs = HistoryInputs(family, goldens.groups, base_views, head_views, base_side, head_side)
        regressions, held, unconfirmed, history = apply_history(options, inputs, regressions, unconfirmed)
        noise = [*noise, *held]
    added, added_errors = _added(base_views, head_views)
    removed = [Change(n, base_views[n].outcome, None) for n in sorted(base_views.keys() - head_views.keys())]
    errors = [*tests.errors, *added_errors]
    judge = judge_criteria(base, head)
    return DiffResult(
        base=base_side,
        head=head_side,
        options=options,
        matched=len(base_views.keys() & head_views.keys()),
        totals=totals(base_side, head_side),
        regressions=sorted(regressions, key=Finding.sort_key),
        improvements=sorted([*tests.improvements, *run.improvements, *decided.improvements], key=Finding.sort_key),
        noise=sorted(noise, key=Finding.sort_key),
        prompt_changes=sorted(prompts, key=lambda f: (f.kind != "prompt-edit", f.subject, f.kind)),
        errors=sorted(errors, key=lambda e: (e.error_kind, e.nodeid)),
        new_failures_base_errored=tests.new_failures_base_errored,
        other_changes=tests.other_changes,
        still_failing=tests.still_failing,
        added=added,
        removed=removed,
        golden_groups=goldens.groups,
        metric_changes=metrics.changes,
        warnings=[*metrics.warnings, *_warnings(base, head, base_side, head_side, removed), *judge_warnings(judge)],
        unconfirmed=sorted(unconfirmed, key=Finding.sort_key),
        inconclusive=sorted(decided.inconclusive, key=Finding.sort_key),
        family_size=len(testable(family, options.alpha)),
        history=history,
        feedback=feedback_fixes({n: v.entry for n, v in base_views.items()},
                                {n: v.entry for n, v in head_views.items()}),
        judge=judge,
    )


def _added(base_views: dict[str, TestView],
           head_views: dict[str, TestView]) -> tuple[list[Change], list[ErrorEntry]]:
    """Tests only in head (never regressions), and the ones among them that errored."""
    added, errors = [], []
    for nodeid in sorted(head_views.keys() - base_views.keys()):
        view = head_views[nodeid]
        added.append(Change(nodeid, None, view.outcome, view.message or ""))
        if view.outcome == ERROR:
            errors.append(ErrorEntry(nodeid, view.error_kind or "error", view.message or "", None))
    return added, errors


def _warnings(base: ReviewRecord, head: ReviewRecord, base_side: RunSide, head_side: RunSide,
              removed: list[Change]) -> list[str]:
    warnings = []
    if head_side.interrupted and removed:
        warnings.append(f"the head run was interrupted: {len(removed)} test(s) missing from it may not have run")
    if base_side.commit and base_side.commit == head_side.commit:
        warnings.append(f"base and head were run on the same commit {base_side.commit[:12]}")
    for record in (base, head):
        for err in record.meta.collection_errors:
            warnings.append(f"{record.label}: collection error in {err.nodeid}")
    return warnings


def top_regressions(result: DiffResult, limit: int = 10) -> list[str]:
    lines = [f"{f.label}: {f.subject} ({f.base} → {f.head}) {f.detail}".rstrip() for f in result.regressions[:limit]]
    if len(result.regressions) > limit:
        lines.append(f"... and {len(result.regressions) - limit} more")
    return lines


__all__ = ["DiffOptions", "DiffResult", "Finding", "diff_records", "top_regressions"]
