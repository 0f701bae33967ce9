"""Test-by-test comparison of matched tests: outcome transitions, sampled pass rates, metric bounds, growth."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import stats
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


# (relative change, node id, base value, head value) of one test that grew past its threshold
Growth = tuple[float, str, float, float]


@dataclass
class _Grown:
    cost: list[Growth] = field(default_factory=list)
    tokens: list[Growth] = field(default_factory=list)


def compare_tests(base_views: dict[str, TestView], head_views: dict[str, TestView],
                  options: DiffOptions) -> TestChanges:
    """Compare every test present in both runs; per-test cost/token growth is summarized in one finding per kind."""
    changes = TestChanges()
    grown = _Grown()
    for nodeid in sorted(base_views.keys() & head_views.keys()):
        b, h = base_views[nodeid], head_views[nodeid]
        _compare_pair(b, h, options, changes)
        if options.per_test_cost and h.outcome != ERROR and b.outcome != ERROR:
            _per_test_growth(b, h, options, grown)
    changes.regressions.extend(_per_test_findings(grown, options))
    return changes


def _compare_pair(b: TestView, h: TestView, options: DiffOptions, changes: TestChanges) -> None:
    newly_missed = sorted(name for name, ok in h.metric_passed.items() if not ok and b.metric_passed.get(name) is True)
    sampled = (b.sampling is not None and h.sampling is not None and b.sampling[1] > 0 and h.sampling[1] > 0
               and ERROR not in (b.outcome, h.outcome))
    sampled_regressed = sampled_listed = False
    if sampled:
        sampled_regressed, sampled_listed = _sampled_rates(b, h, options.alpha, changes)
    if b.outcome in PASS and h.outcome == FAIL:
        if sampled and not options.sampled_flip_is_regression:
            if not sampled_listed:  # the verdict flipped but the rate did not drop (e.g. a stricter rule)
                changes.other_changes.append(Change(b.nodeid, b.outcome, h.outcome, "sampled verdict flipped; "
                                                    f"pass rate did not drop; {h.message or ''}".rstrip("; ")))
        else:
            detail = h.message or ""
            if newly_missed:
                detail = _metric_text(h, newly_missed, b) + (f" — {detail}" if detail else "")
            changes.regressions.append(Finding("outcome", b.nodeid, b.outcome, h.outcome, detail, magnitude=1.0))
        newly_missed = []
    else:
        _transition(b, h, changes)
    if newly_missed and not sampled_regressed and h.outcome != ERROR:
        changes.regressions.append(Finding("metric-threshold", b.nodeid, b.outcome, h.outcome,
                                           _metric_text(h, newly_missed, b), magnitude=len(newly_missed)))


def _sampled_rates(b: TestView, h: TestView, alpha: float, changes: TestChanges) -> tuple[bool, bool]:
    """Compare the pass rates of a sampled test; returns (counted as a regression, listed as lower at all)."""
    (kb, nb), (kh, nh) = b.sampling, h.sampling  # type: ignore[misc]
    rb, rh = kb / nb, kh / nh
    rates = f"{kb}/{nb} = {rb:.2f}", f"{kh}/{nh} = {rh:.2f}"
    if rh < rb:
        p = stats.rate_drop_pvalue(kb, nb, kh, nh)
        flip = " (verdict flipped passed → failed)" if b.outcome in PASS and h.outcome == FAIL else ""
        if p < alpha:
            changes.regressions.append(Finding("sampled", b.nodeid, *rates,
                                               f"pass rate {rb - rh:.2f} lower, one-sided Boschloo p = {p:.3g}{flip}",
                                               magnitude=rb - rh))
            return True, True
        changes.noise.append(Finding("rate-noise", b.nodeid, *rates,
                                     f"p = {p:.3g} ≥ α = {alpha:g}, not significant{flip}", magnitude=rb - rh))
        return False, True
    if rh > rb:
        p = stats.rate_rise_pvalue(kb, nb, kh, nh)
        if p < alpha:
            changes.improvements.append(Finding("sampled", b.nodeid, *rates,
                                                f"pass rate {rh - rb:.2f} higher, one-sided Boschloo p = {p:.3g}",
                                                magnitude=rh - rb))
    return False, False


def _transition(b: TestView, h: TestView, changes: TestChanges) -> None:
    """File an outcome change other than passed → failed."""
    nodeid = b.nodeid
    if b.outcome == FAIL and h.outcome in PASS:
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
