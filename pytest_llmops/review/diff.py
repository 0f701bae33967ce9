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
``latency``          p95 latency of the run's calls that needed no retry up more than ``latency_pct`` (50%); replayed calls count with
                     their recorded latency.

"Worse" for a metric: lower, unless the metric was recorded with only a ``max`` bound (e.g. ``pii_found``),
then higher.  Everything is sorted, so the same inputs give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ReportError
from . import stats
from .load import ReviewRecord, as_review_record, gc_paused

PASS = frozenset({"passed", "xpassed"})
FAIL = "failed"
ERROR = "error"

KIND_LABELS: dict[str, str] = {
    "outcome": "passed → failed",
    "golden-passfail": "golden set: more cases fail",
    "golden-metric": "golden set: metric worse",
    "sampled": "sampled pass rate dropped",
    "aggregate": "aggregate check fails",
    "metric-threshold": "metric below threshold",
    "metric-drop": "metric mean dropped",
    "prompt-edit": "prompt edited without version bump",
    "cost": "cost up",
    "tokens": "tokens up",
    "latency": "p95 latency up",
    "fixed": "failed → passed",
    "golden-metric-better": "golden set: metric better",
    "cost-down": "cost down",
    "tokens-down": "tokens down",
    "latency-down": "p95 latency down",
    "rate-noise": "pass rate lower, not significant",
    "metric-noise": "metric lower, not significant",
}
KIND_ORDER = {kind: rank for rank, kind in enumerate(KIND_LABELS)}


@dataclass(frozen=True)
class DiffOptions:
    """Thresholds of the diff.  Percentages are increases relative to base (20.0 means +20%)."""

    alpha: float = 0.05
    cost_pct: float = 20.0
    tokens_pct: float = 20.0
    latency_pct: float = 50.0
    per_test_cost: bool = True
    min_test_cost_delta_usd: float = 0.001
    min_test_tokens_delta: int = 100
    min_latency_delta_s: float = 0.25  # p95 latency must also grow by this much: loopback/replay jitter is not a regression
    metric_tolerances: dict[str, tuple[float, bool]] = field(default_factory=dict)  # name -> (amount, relative)
    prompt_edit_is_regression: bool = True
    sampled_flip_is_regression: bool = False


@dataclass
class Finding:
    kind: str
    subject: str
    base: str
    head: str
    detail: str
    magnitude: float = 0.0
    metric: str | None = None
    items: list[str] = field(default_factory=list)  # every test behind a summarized finding

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def sort_key(self) -> tuple[int, float, str, str]:
        return (KIND_ORDER.get(self.kind, 99), -round(self.magnitude, 12), self.subject, self.metric or "")


@dataclass
class Change:
    nodeid: str
    base: str | None
    head: str | None
    note: str = ""


@dataclass
class ErrorEntry:
    nodeid: str
    error_kind: str
    message: str
    base_outcome: str | None


@dataclass
class RunSide:
    label: str
    commit: str | None
    branch: str | None
    started_at: str
    interrupted: bool
    record_mode: str | None
    tests: int
    outcomes: dict[str, int]
    passes: int
    judged: int
    pass_rate: float | None
    interval: tuple[float, float] | None
    cost_usd: float | None
    tokens: int
    p95_latency_s: float | None
    latency_calls: int


@dataclass
class TotalRow:
    name: str
    base: str
    head: str
    delta: str


@dataclass
class GroupMetric:
    name: str
    pairs: int
    base_mean: float
    head_mean: float
    higher_is_better: bool
    p_worse: float
    p_worse_holm: float
    p_better: float
    p_better_holm: float


@dataclass
class GoldenCaseRow:
    case_id: str
    nodeid: str
    base_nodeid: str
    base_outcome: str | None
    head_outcome: str | None
    base_metrics: dict[str, float]
    head_metrics: dict[str, float]


@dataclass
class GoldenGroup:
    key: str
    path: str
    function: str
    variant: str
    pairs: int
    base_passes: int
    head_passes: int
    judged_pairs: int
    worse: int
    better: int
    p_worse: float
    p_better: float
    only_base: int
    only_head: int
    metrics: list[GroupMetric]
    cases: list[GoldenCaseRow]


@dataclass
class MetricChange:
    name: str
    tests: int
    base_mean: float
    head_mean: float
    higher_is_better: bool
    tolerance: str | None
    breached: bool


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


# ----------------------------------------------------------------------------------------------------------
# per-test view
# ----------------------------------------------------------------------------------------------------------


@dataclass
class TestView:
    __test__ = False

    nodeid: str
    outcome: str
    error_kind: str | None
    message: str | None
    function_key: str
    params: str | None
    golden_path: str | None
    case_id: str | None
    metrics: dict[str, float]
    metric_passed: dict[str, bool]  # False when any recorded value of the metric missed its bound
    lower_is_better: set[str]
    cost_usd: float | None
    tokens: int
    latencies: list[float]
    sampling: tuple[int, int] | None  # (passes, valid samples)
    prompts: list[tuple[str, str, str]]
    entry: Any


def _view(entry: dict[str, Any]) -> TestView:
    metrics: dict[str, list[float]] = {}
    metric_passed: dict[str, bool] = {}
    lower: set[str] = set()
    for m in entry.get("metrics") or ():
        name = m["name"]
        if name in metrics:
            metrics[name].append(m["value"])
        else:
            metrics[name] = [m["value"]]
        passed = m.get("passed")
        if passed is not None:
            metric_passed[name] = metric_passed.get(name, True) and bool(passed)
        if m.get("max") is not None and m.get("min") is None:
            lower.add(name)
    cost: float | None = 0.0
    tokens = 0
    latencies: list[float] = []
    for call in entry.get("calls") or ():
        tokens += call.get("total_tokens") or 0
        if call.get("cached"):
            price, latency = call.get("replayed_cost_usd"), call.get("recorded_latency_s")
        else:
            price, latency = call.get("cost_usd"), call.get("latency_s")
        if call.get("error") is None:
            if price is None:
                cost = None
            elif cost is not None:
                cost += price
            # a call that needed retries measured the provider's faults, not the change under review
            if latency is not None and not call.get("retries"):
                latencies.append(latency)
    sampling = None
    info = entry.get("sampling")
    if info and isinstance(info.get("passes"), int):
        sampling = (info["passes"], info["passes"] + (info.get("failures") or 0))
    golden = entry.get("golden")
    cls = entry.get("cls")
    return TestView(
        nodeid=entry["nodeid"],
        outcome=entry["outcome"],
        error_kind=entry.get("error_kind"),
        message=entry.get("message"),
        function_key=f"{entry['file']}::{cls + '::' if cls else ''}{entry['function']}",
        params=entry.get("params"),
        golden_path=golden["path"] if golden else None,
        case_id=golden["case_id"] if golden else None,
        metrics={name: (v[0] if len(v) == 1 else math.fsum(v) / len(v)) for name, v in metrics.items()},
        metric_passed=metric_passed,
        lower_is_better=lower,
        cost_usd=cost,
        tokens=tokens,
        latencies=latencies,
        sampling=sampling,
        prompts=[(p["name"], p["version"], p["hash"]) for p in entry.get("prompts") or ()],
        entry=entry,
    )


def test_views(record: ReviewRecord) -> dict[str, TestView]:
    """One :class:`TestView` per node id; duplicate node ids raise ReportError naming them."""
    views: dict[str, TestView] = {}
    duplicates: set[str] = set()
    label = record.label
    for entry in record.tests:
        nodeid = entry["nodeid"]
        if nodeid in views:
            duplicates.add(nodeid)
            continue
        views[nodeid] = _view(entry)
    if duplicates:
        names = sorted(duplicates)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        raise ReportError(
            f"{label}: duplicate test id(s) in one record: {', '.join(names[:10])}{more}; a record must list each "
            "test once (merge shard records with 'pytest-llmops merge')"
        )
    return views


# ----------------------------------------------------------------------------------------------------------
# formatting helpers (stable text)
# ----------------------------------------------------------------------------------------------------------


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def fmt_usd(x: float | None) -> str:
    if x is None:
        return "unknown"
    return f"${x:.4f}" if abs(x) < 100 else f"${x:,.2f}"


def fmt_num(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}"


def fmt_s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}s"


def rel_change(base: float | None, head: float | None) -> float | None:
    if base is None or head is None or base == 0:
        return None
    return (head - base) / abs(base)


def fmt_rel(base: float | None, head: float | None) -> str:
    change = rel_change(base, head)
    if change is None:
        if base == 0 and head not in (None, 0):
            return "new"
        return "—" if base == head else "n/a"
    return f"{change * 100:+.1f}%"


# ----------------------------------------------------------------------------------------------------------
# the diff
# ----------------------------------------------------------------------------------------------------------


def run_side(record: ReviewRecord, views: dict[str, TestView]) -> RunSide:
    label, meta = record.label, record.meta
    outcomes: dict[str, int] = {}
    for view in views.values():
        outcomes[view.outcome] = outcomes.get(view.outcome, 0) + 1
    passes = outcomes.get("passed", 0) + outcomes.get("xpassed", 0)
    judged = passes + outcomes.get("failed", 0)
    cost: float | None = 0.0
    latencies: list[float] = []
    tokens = 0
    for view in views.values():
        tokens += view.tokens
        latencies.extend(view.latencies)
        if view.cost_usd is None:
            cost = None
        elif cost is not None:
            cost += view.cost_usd
    git = meta.run.git
    return RunSide(
        label=label,
        commit=git.commit if git else None,
        branch=git.branch if git else None,
        started_at=meta.run.started_at,
        interrupted=bool(meta.run.interrupted),
        record_mode=meta.run.record_mode,
        tests=len(views),
        outcomes=dict(sorted(outcomes.items())),
        passes=passes,
        judged=judged,
        pass_rate=passes / judged if judged else None,
        interval=stats.wilson_interval(passes, judged),
        cost_usd=None if cost is None else round(cost, 8),
        tokens=tokens,
        p95_latency_s=stats.percentile(latencies, 95),
        latency_calls=len(latencies),
    )


def _totals(base: RunSide, head: RunSide) -> list[TotalRow]:
    def rate(side: RunSide) -> str:
        if side.pass_rate is None:
            return "n/a"
        lo, hi = side.interval or (0.0, 0.0)
        return f"{fmt_pct(side.pass_rate)} [{fmt_pct(lo)}, {fmt_pct(hi)}] ({side.passes}/{side.judged})"

    def pp(a: float | None, b: float | None) -> str:
        return "n/a" if a is None or b is None else f"{(b - a) * 100:+.1f} pp"

    def count(a: int, b: int) -> str:
        return f"{b - a:+d}"

    return [
        TotalRow("tests", str(base.tests), str(head.tests), count(base.tests, head.tests)),
        TotalRow("pass rate (95% Wilson)", rate(base), rate(head), pp(base.pass_rate, head.pass_rate)),
        TotalRow("failed", str(base.outcomes.get("failed", 0)), str(head.outcomes.get("failed", 0)),
                 count(base.outcomes.get("failed", 0), head.outcomes.get("failed", 0))),
        TotalRow("errors", str(base.outcomes.get("error", 0)), str(head.outcomes.get("error", 0)),
                 count(base.outcomes.get("error", 0), head.outcomes.get("error", 0))),
        TotalRow("cost (spent + replayed)", fmt_usd(base.cost_usd), fmt_usd(head.cost_usd),
                 fmt_rel(base.cost_usd, head.cost_usd)),
        TotalRow("tokens", f"{base.tokens:,}", f"{head.tokens:,}", fmt_rel(base.tokens, head.tokens)),
        TotalRow("p95 latency", fmt_s(base.p95_latency_s), fmt_s(head.p95_latency_s),
                 fmt_rel(base.p95_latency_s, head.p95_latency_s)),
    ]


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


def _compare_tests(
    base_views: dict[str, TestView], head_views: dict[str, TestView], options: DiffOptions, out: dict[str, list[Any]]
) -> None:
    regressions, improvements, noise = out["regressions"], out["improvements"], out["noise"]
    alpha = options.alpha
    for nodeid in sorted(base_views.keys() & head_views.keys()):
        b, h = base_views[nodeid], head_views[nodeid]
        newly_missed = sorted(
            name for name, ok in h.metric_passed.items() if not ok and b.metric_passed.get(name) is True
        )
        sampled = (b.sampling is not None and h.sampling is not None and b.sampling[1] > 0 and h.sampling[1] > 0
                   and ERROR not in (b.outcome, h.outcome))
        sampled_regressed = sampled_listed = False
        if sampled:
            (kb, nb), (kh, nh) = b.sampling, h.sampling  # type: ignore[misc]
            rb, rh = kb / nb, kh / nh
            rates = f"{kb}/{nb} = {rb:.2f}", f"{kh}/{nh} = {rh:.2f}"
            if rh < rb:
                p = stats.rate_drop_pvalue(kb, nb, kh, nh)
                flip = " (verdict flipped passed → failed)" if b.outcome in PASS and h.outcome == FAIL else ""
                sampled_listed = True
                if p < alpha:
                    sampled_regressed = True
                    regressions.append(Finding("sampled", nodeid, *rates,
                                               f"pass rate {rb - rh:.2f} lower, one-sided Boschloo p = {p:.3g}{flip}",
                                               magnitude=rb - rh))
                else:
                    noise.append(Finding("rate-noise", nodeid, *rates,
                                         f"p = {p:.3g} ≥ α = {alpha:g}, not significant{flip}", magnitude=rb - rh))
            elif rh > rb:
                p = stats.rate_rise_pvalue(kb, nb, kh, nh)
                if p < alpha:
                    improvements.append(Finding("sampled", nodeid, *rates,
                                                f"pass rate {rh - rb:.2f} higher, one-sided Boschloo p = {p:.3g}",
                                                magnitude=rh - rb))
        # outcome transitions
        if b.outcome in PASS and h.outcome == FAIL:
            if sampled and not options.sampled_flip_is_regression:
                if not sampled_listed:  # the verdict flipped but the rate did not drop (e.g. a stricter rule)
                    out["other_changes"].append(Change(nodeid, b.outcome, h.outcome, "sampled verdict flipped; "
                                                       f"pass rate did not drop; {h.message or ''}".rstrip("; ")))
            else:
                detail = h.message or ""
                if newly_missed:
                    detail = _metric_text(h, newly_missed, b) + (f" — {detail}" if detail else "")
                regressions.append(Finding("outcome", nodeid, b.outcome, h.outcome, detail, magnitude=1.0))
            newly_missed = []
        elif b.outcome == FAIL and h.outcome in PASS:
            improvements.append(Finding("fixed", nodeid, b.outcome, h.outcome, ""))
        elif h.outcome == ERROR:
            out["errors"].append(ErrorEntry(nodeid, h.error_kind or "error", h.message or "", b.outcome))
        elif b.outcome == ERROR and h.outcome == FAIL:
            out["new_failures_base_errored"].append(Change(nodeid, b.outcome, h.outcome, h.message or ""))
        elif b.outcome == FAIL and h.outcome == FAIL:
            out["still_failing"].append(Change(nodeid, b.outcome, h.outcome, h.message or ""))
        elif b.outcome != h.outcome:
            out["other_changes"].append(Change(nodeid, b.outcome, h.outcome, h.message or ""))
        if newly_missed and not sampled_regressed and h.outcome != ERROR:
            regressions.append(Finding("metric-threshold", nodeid, b.outcome, h.outcome,
                                       _metric_text(h, newly_missed, b), magnitude=len(newly_missed)))
        # cost and tokens per test
        if options.per_test_cost and h.outcome != ERROR and b.outcome != ERROR:
            _per_test_growth(b, h, options, out)


def _per_test_growth(b: TestView, h: TestView, options: DiffOptions, out: dict[str, list[Any]]) -> None:
    if b.cost_usd and h.cost_usd is not None:
        change = (h.cost_usd - b.cost_usd) / b.cost_usd
        if change * 100 > options.cost_pct and h.cost_usd - b.cost_usd >= options.min_test_cost_delta_usd:
            out["test_cost"].append((change, b.nodeid, b.cost_usd, h.cost_usd))
    if b.tokens and h.tokens:
        change = (h.tokens - b.tokens) / b.tokens
        if change * 100 > options.tokens_pct and h.tokens - b.tokens >= options.min_test_tokens_delta:
            out["test_tokens"].append((change, b.nodeid, b.tokens, h.tokens))


def _per_test_findings(out: dict[str, list[Any]], options: DiffOptions) -> None:
    """One finding per kind for all tests that grew: a uniform change must not read as dozens of regressions."""
    for kind, key, limit, fmt in (("cost", "test_cost", options.cost_pct, fmt_usd),
                                  ("tokens", "test_tokens", options.tokens_pct, lambda x: f"{int(x):,}")):
        grown = sorted(out[key], key=lambda g: (-g[0], g[1]))
        if not grown:
            continue
        items = [f"{nodeid}: {fmt(b)} → {fmt(h)} ({change * 100:+.1f}%)" for change, nodeid, b, h in grown]
        shown = ", ".join(f"{nodeid} {change * 100:+.1f}%" for change, nodeid, _, _ in grown[:3])
        more = f" and {len(grown) - 3} more" if len(grown) > 3 else ""
        out["regressions"].append(Finding(
            kind, f"{len(grown)} test(s)", fmt(sum(g[2] for g in grown)), fmt(sum(g[3] for g in grown)),
            f"each up more than +{limit:g}%: {shown}{more}", magnitude=grown[0][0], items=items))


def _run_growth(base: RunSide, head: RunSide, options: DiffOptions, regressions: list[Finding],
                improvements: list[Finding] | None = None) -> None:
    checks = (
        ("cost", base.cost_usd, head.cost_usd, options.cost_pct, fmt_usd),
        ("tokens", float(base.tokens), float(head.tokens), options.tokens_pct, lambda x: f"{int(x):,}"),
        ("latency", base.p95_latency_s, head.p95_latency_s, options.latency_pct, fmt_s),
    )
    for kind, b, h, limit, fmt in checks:
        change = rel_change(b, h)
        if kind == "latency" and b is not None and h is not None and abs(h - b) < options.min_latency_delta_s:
            continue
        if change is not None and b and change * 100 > limit:
            regressions.append(Finding(kind, "whole run", fmt(b), fmt(h), f"{change * 100:+.1f}% (limit +{limit:g}%)",
                                       magnitude=change + 1e6))  # the run total ranks above single tests
        elif improvements is not None and change is not None and b and -change * 100 > limit:
            improvements.append(Finding(f"{kind}-down", "whole run", fmt(b), fmt(h), f"{change * 100:+.1f}%",
                                        magnitude=-change))


def _prompt_changes(base_record: ReviewRecord, head_record: ReviewRecord, base_views: dict[str, TestView],
                    head_views: dict[str, TestView], options: DiffOptions, out: dict[str, list[Any]]) -> None:
    def collect(record: ReviewRecord, views: dict[str, TestView]) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {}
        for p in record.meta.prompts:
            found.setdefault((p.name, p.version), set()).add(p.hash)
        for view in views.values():
            for name, version, digest in view.prompts:
                found.setdefault((name, version), set()).add(digest)
        return found

    base, head = collect(base_record, base_views), collect(head_record, head_views)
    users: dict[tuple[str, str], list[str]] = {}
    for view in head_views.values():
        for name, version, _ in view.prompts:
            users.setdefault((name, version), []).append(view.nodeid)
    for key in sorted(base.keys() & head.keys()):
        if base[key] != head[key]:
            used_by = sorted(users.get(key, []))
            shown = ", ".join(used_by[:3]) + (f" and {len(used_by) - 3} more" if len(used_by) > 3 else "")
            finding = Finding("prompt-edit", f"{key[0]}@{key[1]}", ", ".join(h[:12] for h in sorted(base[key])),
                              ", ".join(h[:12] for h in sorted(head[key])),
                              "content changed, version not bumped" + (f"; used by {shown}" if shown else ""))
            out["prompt_changes"].append(finding)
            if options.prompt_edit_is_regression:
                out["regressions"].append(finding)
    base_names = {name for name, _ in base}
    for key in sorted(head.keys() - base.keys()):
        note = "new version" if key[0] in base_names else "new prompt"
        old = sorted(v for n, v in base if n == key[0])
        out["prompt_changes"].append(Finding("prompt-new", f"{key[0]}@{key[1]}", ", ".join(old) or "—", key[1], note))
    for key in sorted(base.keys() - head.keys()):
        out["prompt_changes"].append(Finding("prompt-gone", f"{key[0]}@{key[1]}", key[1], "—", "not used in head"))
    base_sets = {g.path: g for g in base_record.meta.golden_sets}
    for g in sorted(head_record.meta.golden_sets, key=lambda g: g.path):
        old = base_sets.get(g.path)
        if old is not None and old.hash != g.hash:
            out["prompt_changes"].append(Finding("golden-edit", g.path, f"{old.cases} cases", f"{g.cases} cases",
                                                 "golden set file changed: its cases are compared as they are now"))


def _variant(params: str | None, case_id: str) -> str:
    """The parameter ids of a golden test item other than its case id (e.g. the prompt version)."""
    if not params:
        return ""
    if params == case_id:
        return ""
    if params.startswith(case_id + "-"):
        return params[len(case_id) + 1:]
    if params.endswith("-" + case_id):
        return params[: -len(case_id) - 1]
    i = params.find("-" + case_id + "-")
    return params[:i] + params[i + len(case_id) + 1:] if i >= 0 else params


def _group(views: dict[str, TestView]) -> dict[str, dict[str, TestView]]:
    groups: dict[str, dict[str, TestView]] = {}
    for view in views.values():
        if view.golden_path is None or view.case_id is None:
            continue
        variant = _variant(view.params, view.case_id)
        key = f"{view.function_key}{'[' + variant + ']' if variant else ''} over {view.golden_path}"
        groups.setdefault(key, {})[view.case_id] = view
    return groups


def _golden_groups(base_views: dict[str, TestView], head_views: dict[str, TestView], options: DiffOptions,
                   out: dict[str, list[Any]]) -> None:
    base_groups, head_groups = _group(base_views), _group(head_views)
    alpha = options.alpha
    for key in sorted(base_groups.keys() & head_groups.keys()):
        bg, hg = base_groups[key], head_groups[key]
        case_ids = sorted(bg.keys() & hg.keys())
        if not case_ids:
            continue
        any_view = hg[case_ids[0]]
        worse = better = judged = base_passes = head_passes = 0
        rows = []
        for case_id in case_ids:
            b, h = bg[case_id], hg[case_id]
            rows.append(GoldenCaseRow(case_id, h.nodeid, b.nodeid, b.outcome, h.outcome, dict(sorted(b.metrics.items())),
                                      dict(sorted(h.metrics.items()))))
            bp, hp = b.outcome in PASS, h.outcome in PASS
            if (bp or b.outcome == FAIL) and (hp or h.outcome == FAIL):
                judged += 1
                base_passes += bp
                head_passes += hp
                worse += bp and not hp
                better += hp and not bp
        p_worse, p_better = stats.mcnemar_pvalue(worse, better), stats.mcnemar_pvalue(better, worse)
        metric_names = sorted({n for c in case_ids for n in bg[c].metrics} & {n for c in case_ids for n in hg[c].metrics})
        metrics: list[GroupMetric] = []
        raw_worse, raw_better = [], []
        for name in metric_names:
            pairs = [(bg[c].metrics[name], hg[c].metrics[name]) for c in case_ids
                     if name in bg[c].metrics and name in hg[c].metrics
                     and bg[c].outcome != ERROR and hg[c].outcome != ERROR]
            if not pairs:
                continue
            higher = not any(name in bg[c].lower_is_better or name in hg[c].lower_is_better for c in case_ids)
            sign = 1.0 if higher else -1.0
            diffs = [sign * (hv - bv) for bv, hv in pairs]
            pw, pb = stats.signed_rank_pvalue(diffs), stats.signed_rank_pvalue([-d for d in diffs])
            raw_worse.append(pw)
            raw_better.append(pb)
            metrics.append(GroupMetric(name, len(pairs), stats.mean([p[0] for p in pairs]) or 0.0,
                                       stats.mean([p[1] for p in pairs]) or 0.0, higher, pw, 1.0, pb, 1.0))
        for metric, hw, hb in zip(metrics, stats.holm(raw_worse), stats.holm(raw_better), strict=True):
            metric.p_worse_holm, metric.p_better_holm = hw, hb
        group = GoldenGroup(key=key, path=any_view.golden_path or "", function=any_view.function_key,
                            variant=_variant(any_view.params, any_view.case_id or ""), pairs=len(case_ids),
                            base_passes=base_passes, head_passes=head_passes, judged_pairs=judged, worse=worse,
                            better=better, p_worse=p_worse, p_better=p_better, only_base=len(bg.keys() - hg.keys()),
                            only_head=len(hg.keys() - bg.keys()), metrics=metrics, cases=rows)
        out["golden_groups"].append(group)
        passes = f"{base_passes}/{judged} pass", f"{head_passes}/{judged} pass"
        if p_worse < alpha:
            out["regressions"].append(Finding("golden-passfail", key, *passes,
                                              f"{worse} case(s) pass → fail, {better} fail → pass; exact McNemar "
                                              f"p = {p_worse:.3g}", magnitude=(worse - better) / max(judged, 1)))
        elif p_better < alpha:
            out["improvements"].append(Finding("golden-passfail", key, *passes,
                                               f"{better} case(s) fail → pass, {worse} pass → fail; exact McNemar "
                                               f"p = {p_better:.3g}", magnitude=(better - worse) / max(judged, 1)))
        for m in metrics:
            means = fmt_num(m.base_mean), fmt_num(m.head_mean)
            tail = f"{m.pairs} paired cases, Wilcoxon signed-rank"
            if m.p_worse_holm < alpha:
                out["regressions"].append(Finding("golden-metric", key, *means,
                                                  f"{m.name} worse: {tail} p = {m.p_worse:.3g}, Holm-adjusted "
                                                  f"{m.p_worse_holm:.3g}", magnitude=abs(m.head_mean - m.base_mean),
                                                  metric=m.name))
            elif m.p_better_holm < alpha:
                out["improvements"].append(Finding("golden-metric-better", key, *means,
                                                   f"{m.name} better: {tail} p = {m.p_better:.3g}, Holm-adjusted "
                                                   f"{m.p_better_holm:.3g}", magnitude=abs(m.head_mean - m.base_mean),
                                                   metric=m.name))
            elif (m.head_mean - m.base_mean) * (1 if m.higher_is_better else -1) < 0:
                out["noise"].append(Finding("metric-noise", key, *means,
                                            f"{m.name}: {tail} Holm-adjusted p = {m.p_worse_holm:.3g} ≥ α = {alpha:g}",
                                            magnitude=abs(m.head_mean - m.base_mean), metric=m.name))


def _metric_changes(base_views: dict[str, TestView], head_views: dict[str, TestView], options: DiffOptions,
                    out: dict[str, list[Any]]) -> None:
    sums: dict[str, list[float]] = {}  # name -> [n, base_sum, head_sum]
    lower: set[str] = set()
    for nodeid in sorted(base_views.keys() & head_views.keys()):  # sorted: float sums must not depend on set order
        b, h = base_views[nodeid], head_views[nodeid]
        if b.outcome == ERROR or h.outcome == ERROR or not b.metrics or not h.metrics:
            continue
        for name, hv in h.metrics.items():
            bv = b.metrics.get(name)
            if bv is None:
                continue
            acc = sums.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += bv
            acc[2] += hv
            lower |= b.lower_is_better | h.lower_is_better
    for name in sorted(sums):
        n, bsum, hsum = sums[name]
        bm, hm = bsum / n, hsum / n
        higher = name not in lower
        worse_by = (bm - hm) if higher else (hm - bm)
        tol = options.metric_tolerances.get(name)
        breached = False
        tol_text = None
        if tol is not None:
            amount, relative = tol
            limit = amount / 100 * abs(bm) if relative else amount
            breached = worse_by > limit + 1e-12
            tol_text = f"{amount:g}%" if relative else f"{amount:g}"
            if breached:
                rel = f" ({worse_by / abs(bm) * 100:.1f}%)" if bm else ""
                out["regressions"].append(Finding(
                    "metric-drop", f"{name} over {int(n)} matched tests", fmt_num(bm), fmt_num(hm),
                    f"mean worse by {worse_by:.4g}{rel}, tolerance {tol_text}", magnitude=worse_by, metric=name))
        out["metric_changes"].append(MetricChange(name, int(n), bm, hm, higher, tol_text, breached))
    for name in sorted(set(options.metric_tolerances) - set(sums)):
        out["warnings"].append(f"fail-on metric {name!r}: no matched test recorded it in both runs")


def _aggregates(base_record: ReviewRecord, head_record: ReviewRecord, out: dict[str, list[Any]]) -> None:
    base = {a.name: a for a in base_record.meta.aggregates}
    for agg in sorted(head_record.meta.aggregates, key=lambda a: a.name):
        old = base.get(agg.name)
        if old is not None and old.passed and agg.passed is False:
            out["regressions"].append(Finding("aggregate", agg.name, fmt_num(old.value), fmt_num(agg.value),
                                              f"bounds min={agg.min} max={agg.max}, {agg.count} items",
                                              magnitude=abs((old.value or 0) - (agg.value or 0))))


def diff_records(base: Any, head: Any, options: DiffOptions | None = None, *, base_label: str | None = None,
                 head_label: str | None = None) -> DiffResult:
    """Compare two run records (base → head): ReviewRecord, RunRecord or record dicts."""
    with gc_paused():
        return _diff(base, head, options or DiffOptions(), base_label, head_label)


def _diff(base: Any, head: Any, options: DiffOptions, base_label: str | None, head_label: str | None) -> DiffResult:
    base, head = as_review_record(base, base_label or "base"), as_review_record(head, head_label or "head")
    base_views, head_views = test_views(base), test_views(head)
    out: dict[str, list[Any]] = {name: [] for name in (
        "regressions", "improvements", "noise", "prompt_changes", "errors", "new_failures_base_errored",
        "other_changes", "still_failing", "golden_groups", "metric_changes", "warnings", "test_cost", "test_tokens")}
    base_side, head_side = run_side(base, base_views), run_side(head, head_views)
    base_side.label, head_side.label = base_label or base.label, head_label or head.label
    _compare_tests(base_views, head_views, options, out)
    _per_test_findings(out, options)
    _run_growth(base_side, head_side, options, out["regressions"], out["improvements"])
    _prompt_changes(base, head, base_views, head_views, options, out)
    _golden_groups(base_views, head_views, options, out)
    _metric_changes(base_views, head_views, options, out)
    _aggregates(base, head, out)
    for nodeid in sorted(head_views.keys() - base_views.keys()):
        view = head_views[nodeid]
        if view.outcome == ERROR:
            out["errors"].append(ErrorEntry(nodeid, view.error_kind or "error", view.message or "", None))
    added = [Change(n, None, head_views[n].outcome, head_views[n].message or "")
             for n in sorted(head_views.keys() - base_views.keys())]
    removed = [Change(n, base_views[n].outcome, None) for n in sorted(base_views.keys() - head_views.keys())]
    if head_side.interrupted and removed:
        out["warnings"].append(f"the head run was interrupted: {len(removed)} test(s) missing from it may not have run")
    if base_side.commit and base_side.commit == head_side.commit and base_side.commit:
        out["warnings"].append(f"base and head were run on the same commit {base_side.commit[:12]}")
    for record in (base, head):
        for err in record.meta.collection_errors:
            out["warnings"].append(f"{record.label}: collection error in {err.nodeid}")
    regressions = sorted(out["regressions"], key=Finding.sort_key)
    return DiffResult(
        base=base_side,
        head=head_side,
        options=options,
        matched=len(base_views.keys() & head_views.keys()),
        totals=_totals(base_side, head_side),
        regressions=regressions,
        improvements=sorted(out["improvements"], key=Finding.sort_key),
        noise=sorted(out["noise"], key=Finding.sort_key),
        prompt_changes=sorted(out["prompt_changes"], key=lambda f: (f.kind != "prompt-edit", f.subject, f.kind)),
        errors=sorted(out["errors"], key=lambda e: (e.error_kind, e.nodeid)),
        new_failures_base_errored=out["new_failures_base_errored"],
        other_changes=out["other_changes"],
        still_failing=out["still_failing"],
        added=added,
        removed=removed,
        golden_groups=out["golden_groups"],
        metric_changes=out["metric_changes"],
        warnings=out["warnings"],
    )


def headline_text(result: DiffResult) -> str:
    return result.headline()


def top_regressions(result: DiffResult, limit: int = 10) -> list[str]:
    lines = [f"{f.label}: {f.subject} ({f.base} → {f.head}) {f.detail}".rstrip() for f in result.regressions[:limit]]
    if len(result.regressions) > limit:
        lines.append(f"... and {len(result.regressions) - limit} more")
    return lines


def _outcomes_line(side: RunSide) -> str:
    return ", ".join(f"{n} {o}" for o, n in side.outcomes.items()) or "no tests"


__all__ = ["DiffOptions", "DiffResult", "Finding", "diff_records", "test_views", "top_regressions"]
