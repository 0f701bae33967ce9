"""Diff two run records (base → head) into findings a PR reviewer can trust.

Matching is by node id (it carries the golden case id and prompt-version parametrization); tests only in
one run are listed as added/removed, never as regressions.  What counts as a regression (each configurable
in :class:`DiffOptions`, defaults documented there):

``outcome``          a test that passed (or xpassed) in base and failed in head.  A test that errors in head
                     (provider outage, spent budget, missing recording: outcome ``error``) is listed under
                     errors and never counts; error in base and failed in head is "new failure (base
                     errored)", not a regression, because the base result is unknown.
``sampled``          a sampled test whose pass rate (passes / valid samples) dropped significantly: one-sided
                     Boschloo exact test, ``alpha`` (default 0.05).  A lower rate that is not significant is
                     listed as noise — also when the sampled verdict flipped (``sampled_flip_is_regression``).
``golden-passfail``  over a golden set present in both runs (tests grouped by test function + golden path +
                     the remaining parameter ids, paired per case id): exact McNemar test on the discordant
                     pairs.
``golden-metric``    same pairing, per metric: one-sided Wilcoxon signed-rank test on the per-case values,
                     Holm-corrected across the metrics of that golden set.
``metric-threshold`` a metric that met its bound in base and misses it in head (on a test that still passes;
                     on a test that now fails, it is named in that test's ``outcome`` finding).
``metric-drop``      mean of a metric over the matched tests worse by more than its tolerance (set by
                     ``--fail-on metric:NAME:TOL``; none by default).
``aggregate``        a run-level aggregate check that passed in base and fails in head.
``prompt-edit``      a prompt whose content hash changed while name@version did not ("edited without version
                     bump"; ``prompt_edit_is_regression``, default on).
``cost``/``tokens``  spent + replayed cost / total tokens up more than ``cost_pct`` / ``tokens_pct`` (20%) for
                     the run, or for one test (a test must also grow by ``min_test_cost_delta_usd`` /
                     ``min_test_tokens_delta`` so tiny numbers do not produce percentages).
``latency``          p95 latency of the run's calls that needed no retry up more than ``latency_pct`` (50%);
                     replayed calls count with their recorded latency.

"Worse" for a metric: lower, unless the metric was recorded with only a ``max`` bound (e.g. ``pii_found``),
then higher.  Everything is sorted, so the same inputs give the same result.

The comparisons live in :mod:`.compare_tests`, :mod:`.compare_goldens`, :mod:`.compare_run` and
:mod:`.compare_prompts`; this module runs them and assembles the :class:`DiffResult`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .compare_goldens import compare_goldens
from .compare_prompts import prompt_changes
from .compare_run import aggregate_regressions, metric_changes, run_growth, totals
from .compare_tests import compare_tests
from .findings import Change, ErrorEntry, Finding, GoldenGroup, MetricChange, RunSide, TotalRow
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

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def headline(self) -> str:
        if self.regressions:
            n = len(self.regressions)
            verdict = f"❌ {n} regression{'s' if n != 1 else ''}"
        elif self.base.tests == 0 and self.head.tests == 0:
            verdict = "⚠ nothing to compare: both records have no tests"
        else:
            verdict = "✅ no regressions"
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
        data = asdict(self)
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
    base, head = as_review_record(base, base_label or "base"), as_review_record(head, head_label or "head")
    base_views, head_views = test_views(base), test_views(head)
    base_side, head_side = run_side(base, base_views), run_side(head, head_views)
    base_side.label, head_side.label = base_label or base.label, head_label or head.label
    tests = compare_tests(base_views, head_views, options)
    run = run_growth(base_side, head_side, options)
    prompts = prompt_changes(base, head, base_views, head_views)
    goldens = compare_goldens(base_views, head_views, options.alpha)
    metrics = metric_changes(base_views, head_views, options)
    edits = [f for f in prompts if f.kind == "prompt-edit"] if options.prompt_edit_is_regression else []
    regressions = [*tests.regressions, *run.regressions, *edits, *goldens.regressions, *metrics.regressions,
                   *aggregate_regressions(base, head)]
    added, added_errors = _added(base_views, head_views)
    removed = [Change(n, base_views[n].outcome, None) for n in sorted(base_views.keys() - head_views.keys())]
    errors = [*tests.errors, *added_errors]
    return DiffResult(
        base=base_side,
        head=head_side,
        options=options,
        matched=len(base_views.keys() & head_views.keys()),
        totals=totals(base_side, head_side),
        regressions=sorted(regressions, key=Finding.sort_key),
        improvements=sorted([*tests.improvements, *run.improvements, *goldens.improvements], key=Finding.sort_key),
        noise=sorted([*tests.noise, *goldens.noise], key=Finding.sort_key),
        prompt_changes=sorted(prompts, key=lambda f: (f.kind != "prompt-edit", f.subject, f.kind)),
        errors=sorted(errors, key=lambda e: (e.error_kind, e.nodeid)),
        new_failures_base_errored=tests.new_failures_base_errored,
        other_changes=tests.other_changes,
        still_failing=tests.still_failing,
        added=added,
        removed=removed,
        golden_groups=goldens.groups,
        metric_changes=metrics.changes,
        warnings=[*metrics.warnings, *_warnings(base, head, base_side, head_side, removed)],
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
