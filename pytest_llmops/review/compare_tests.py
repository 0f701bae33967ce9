"""Test-by-test comparison of matched tests: outcome transitions, sampled pass rates, metric bounds, growth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import power, stats
from .family import Comparison
from .findings import Change, ErrorEntry, Finding, Verdicts
from .format import fmt_int, fmt_num, fmt_usd
from .options import DiffOptions
from .views import ERROR, FAIL, PASS, TestView


@dataclass
class TestChanges(Verdicts):
    """Verdicts on the matched tests plus the outcome changes that are not verdicts."""

    __test__ = False

    errors: list[ErrorEntry] = field(default_factory=list)
    new_failures_base_errored: list[Change] = field(default_factory=list)
    other_changes: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    unconfirmed: list[Finding] = field(default_factory=list)  # one live sample flipped: not a regression
    comparisons: list[Comparison] = field(default_factory=list)  # sampled tests, decided with the family


# (relative change, node id, base value, head value) of one test that grew past its threshold
Growth = tuple[float, str, float, float]

ADVICE = "one live sample; add @pytest.mark.sampling(n=...) to confirm (pytest-llmops calibrate suggests n)"


@dataclass
class _Grown:
    cost: list[Growth] = field(default_factory=list)
    tokens: list[Growth] = field(default_factory=list)


def deterministic(b: TestView, h: TestView) -> bool:
    """Every model call was replayed in both runs (or there were none): the outcome is not a sample."""
    return not b.live and not h.live


def compare_tests(base_views: dict[str, TestView], head_views: dict[str, TestView],
                  options: DiffOptions) -> TestChanges:
    """Compare every test present in both runs; per-test cost/token growth is summarized in one finding per kind.

    Golden items are judged by their group (:mod:`.compare_goldens`), sampled tests by their rates (a
    :class:`~.family.Comparison` each), deterministic tests one by one, and a single live test that flipped is
    listed as unconfirmed.
    """
    changes = TestChanges()
    grown = _Grown()
    for nodeid in sorted(base_views.keys() & head_views.keys()):
        b, h = base_views[nodeid], head_views[nodeid]
        if b.case_id is not None and h.case_id is not None and b.golden_path and h.golden_path:
            _golden_item(b, h, changes)
        else:
            _compare_pair(b, h, options, changes)
        if options.per_test_cost and h.outcome != ERROR and b.outcome != ERROR and deterministic(b, h):
            _per_test_growth(b, h, options, grown)
    changes.regressions.extend(_per_test_findings(grown, options))
    return changes


def _golden_item(b: TestView, h: TestView, changes: TestChanges) -> None:
    """A golden case: its flips and threshold crossings are evidence of its group, not verdicts."""
    if b.outcome in PASS and h.outcome == FAIL or b.outcome == FAIL and h.outcome in PASS:
        return
    _transition(b, h, changes)


def _is_sampled(b: TestView, h: TestView) -> bool:
    return (b.sampling is not None and h.sampling is not None and b.sampling[1] > 0 and h.sampling[1] > 0
            and ERROR not in (b.outcome, h.outcome))


def _compare_pair(b: TestView, h: TestView, options: DiffOptions, changes: TestChanges) -> None:
    newly_missed = sorted(name for name, ok in h.metric_passed.items() if not ok and b.metric_passed.get(name) is True)
    flipped = b.outcome in PASS and h.outcome == FAIL
    if _is_sampled(b, h):
        comparison = sampled_comparison(b, h, options)
        changes.comparisons.append(comparison)
        if flipped and options.sampled_flip_is_regression:
            changes.regressions.append(Finding("outcome", b.nodeid, b.outcome, h.outcome, h.message or "", 1.0))
        elif flipped and comparison.effect <= 0:  # the verdict flipped but the rate did not drop
            changes.other_changes.append(Change(b.nodeid, b.outcome, h.outcome, "sampled verdict flipped; "
                                                f"pass rate did not drop; {h.message or ''}".rstrip("; ")))
        elif not flipped and b.outcome != h.outcome:
            _transition(b, h, changes, sampled=True)
        return
    detail = h.message or ""
    if newly_missed and h.outcome != ERROR:
        detail = _metric_text(h, newly_missed, b) + (f" — {detail}" if detail and flipped else "")
    if not deterministic(b, h):
        if flipped or (newly_missed and h.outcome != ERROR):
            changes.unconfirmed.append(Finding("flip", b.nodeid, b.outcome, h.outcome,
                                               f"{detail}; {ADVICE}".lstrip("; "), magnitude=1.0 if flipped else 0.5))
            if not flipped:
                return
        if not flipped:
            _transition(b, h, changes, live=True)
        return
    if flipped:
        changes.regressions.append(Finding("outcome", b.nodeid, b.outcome, h.outcome, detail, magnitude=1.0))
        return
    _transition(b, h, changes)
    if newly_missed and h.outcome != ERROR:
        changes.regressions.append(Finding("metric-threshold", b.nodeid, b.outcome, h.outcome,
                                           _metric_text(h, newly_missed, b), magnitude=len(newly_missed)))


def sampled_comparison(b: TestView, h: TestView, options: DiffOptions) -> Comparison:
    """The rate comparison of a sampled test: one-sided Fisher exact both ways, Newcombe interval, MDE."""
    (kb, nb), (kh, nh) = b.sampling, h.sampling  # type: ignore[misc]
    rb, rh = kb / nb, kh / nh
    pooled = (kb + kh) / (nb + nh)
    mde = power.mde_two_rates(pooled, nb, nh, options.alpha)
    flip = " (verdict flipped passed → failed)" if b.outcome in PASS and h.outcome == FAIL else ""
    return Comparison(
        kind="sampled", better_kind="sampled-better", subject=b.nodeid, base=f"{kb}/{nb} = {rb:.2f}",
        head=f"{kh}/{nh} = {rh:.2f}", test="one-sided Fisher exact",
        p_worse=stats.conditional_drop_pvalue(kb, nb, kh, nh), p_better=stats.conditional_rise_pvalue(kb, nb, kh, nh),
        effect=rb - rh, unit="pp",
        interval=power.newcombe_independent(kb, nb, kh, nh), mde=mde, practical=options.min_effect,
        needs_n=power.n_two_rates(pooled, options.min_effect, options.alpha) if mde > options.min_effect else None,
        n_text="samples per run", note=flip.strip(" ()"), min_p=min_attainable_p(kb + kh, nb, nh))


def min_attainable_p(passes: int, n_base: int, n_head: int) -> float:
    """The smallest p-value either direction could reach with this many passes in the two runs together."""
    kb = min(n_base, passes)  # head as bad as it gets
    kh = min(n_head, passes)  # head as good as it gets
    return min(stats.conditional_drop_pvalue(kb, n_base, passes - kb, n_head),
               stats.conditional_rise_pvalue(passes - kh, n_base, kh, n_head))


def _transition(b: TestView, h: TestView, changes: TestChanges, *, sampled: bool = False, live: bool = False) -> None:
    """File an outcome change other than passed → failed (failed → passed is an improvement when deterministic)."""
    nodeid = b.nodeid
    if b.outcome == FAIL and h.outcome in PASS:
        if sampled or live:
            why = "judged by its pass rate" if sampled else "one live sample, unconfirmed"
            changes.other_changes.append(Change(nodeid, b.outcome, h.outcome, f"failed → passed ({why})"))
        else:
            changes.improvements.append(Finding("fixed", nodeid, b.outcome, h.outcome, ""))
    elif h.outcome == ERROR:
        changes.errors.append(ErrorEntry(nodeid, h.error_kind or "error", h.message or "", b.outcome))
    elif b.outcome == ERROR and h.outcome == FAIL:
        changes.new_failures_base_errored.append(Change(nodeid, b.outcome, h.outcome, h.message or ""))
    elif b.outcome == FAIL and h.outcome == FAIL:
        changes.still_failing.append(Change(nodeid, b.outcome, h.outcome, h.message or ""))
    elif b.outcome != h.outcome:
        changes.other_changes.append(Change(nodeid, b.outcome, h.outcome, h.message or ""))


def _metric_text(view: TestView, names: Iterable[str], base: TestView) -> str:
    parts = []
    for name in sorted(names):
        bounds = [m for m in view.entry.get("metrics") or () if m["name"] == name]
        bound = ""
        if bounds and bounds[0].get("min") is not None:
            bound = f" < min {bounds[0]['min']:g}"
        elif bounds and bounds[0].get("max") is not None:
            bound = f" > max {bounds[0]['max']:g}"
        parts.append(f"{name} {fmt_num(base.metrics.get(name))} → {fmt_num(view.metrics.get(name))}{bound}")
    return "; ".join(parts)


def _per_test_growth(b: TestView, h: TestView, options: DiffOptions, grown: _Grown) -> None:
    if b.cost_usd and h.cost_usd is not None:
        change = (h.cost_usd - b.cost_usd) / b.cost_usd
        if change * 100 > options.cost_pct and h.cost_usd - b.cost_usd >= options.min_test_cost_delta_usd:
            grown.cost.append((change, b.nodeid, b.cost_usd, h.cost_usd))
    if b.tokens and h.tokens:
        change = (h.tokens - b.tokens) / b.tokens
        if change * 100 > options.tokens_pct and h.tokens - b.tokens >= options.min_test_tokens_delta:
            grown.tokens.append((change, b.nodeid, b.tokens, h.tokens))


def _per_test_findings(grown: _Grown, options: DiffOptions) -> list[Finding]:
    """One finding per kind for all tests that grew: a uniform change must not read as dozens of regressions."""
    findings = []
    kinds: tuple[tuple[str, list[Growth], float, Callable[[float], str]], ...] = (
        ("cost", grown.cost, options.cost_pct, fmt_usd),
        ("tokens", grown.tokens, options.tokens_pct, fmt_int),
    )
    for kind, found, limit, fmt in kinds:
        ranked = sorted(found, key=lambda g: (-g[0], g[1]))
        if not ranked:
            continue
        items = [f"{nodeid}: {fmt(b)} → {fmt(h)} ({change * 100:+.1f}%)" for change, nodeid, b, h in ranked]
        shown = ", ".join(f"{nodeid} {change * 100:+.1f}%" for change, nodeid, _, _ in ranked[:3])
        more = f" and {len(ranked) - 3} more" if len(ranked) > 3 else ""
        findings.append(Finding(
            kind, f"{len(ranked)} test(s)", fmt(sum(g[2] for g in ranked)), fmt(sum(g[3] for g in ranked)),
            f"each up more than +{limit:g}%: {shown}{more}", magnitude=ranked[0][0], items=items))
    return findings
