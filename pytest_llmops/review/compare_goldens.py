"""Golden sets present in both runs, paired per case: exact McNemar on pass/fail, Wilcoxon + Holm per metric."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import stats
from .findings import Finding, GoldenCaseRow, GoldenGroup, GroupMetric, Verdicts
from .format import fmt_num
from .views import ERROR, FAIL, PASS, TestView


@dataclass
class GoldenChanges(Verdicts):
    """The paired golden groups and the verdicts on them."""

    groups: list[GoldenGroup] = field(default_factory=list)


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
    """Golden test items by group key (test function + variant + golden path), then by case id."""
    groups: dict[str, dict[str, TestView]] = {}
    for view in views.values():
        if view.golden_path is None or view.case_id is None:
            continue
        variant = _variant(view.params, view.case_id)
        key = f"{view.function_key}{'[' + variant + ']' if variant else ''} over {view.golden_path}"
        groups.setdefault(key, {})[view.case_id] = view
    return groups


def compare_goldens(base_views: dict[str, TestView], head_views: dict[str, TestView], alpha: float) -> GoldenChanges:
    """Pair the cases of every golden group found in both runs and test the pairs at level ``alpha``."""
    base_groups, head_groups = _group(base_views), _group(head_views)
    changes = GoldenChanges()
    for key in sorted(base_groups.keys() & head_groups.keys()):
        group = _paired_group(key, base_groups[key], head_groups[key])
        if group is None:
            continue
        changes.groups.append(group)
        _group_findings(group, alpha, changes)
    return changes


def _paired_group(key: str, bg: dict[str, TestView], hg: dict[str, TestView]) -> GoldenGroup | None:
    case_ids = sorted(bg.keys() & hg.keys())
    if not case_ids:
        return None
    any_view = hg[case_ids[0]]
    worse = better = judged = base_passes = head_passes = 0
    rows = []
    for case_id in case_ids:
        b, h = bg[case_id], hg[case_id]
        rows.append(GoldenCaseRow(case_id, h.nodeid, b.nodeid, b.outcome, h.outcome,
                                  dict(sorted(b.metrics.items())), dict(sorted(h.metrics.items()))))
        bp, hp = b.outcome in PASS, h.outcome in PASS
        if (bp or b.outcome == FAIL) and (hp or h.outcome == FAIL):
            judged += 1
            base_passes += bp
            head_passes += hp
            worse += bp and not hp
            better += hp and not bp
    return GoldenGroup(key=key, path=any_view.golden_path or "", function=any_view.function_key,
                       variant=_variant(any_view.params, any_view.case_id or ""), pairs=len(case_ids),
                       base_passes=base_passes, head_passes=head_passes, judged_pairs=judged, worse=worse,
                       better=better, p_worse=stats.mcnemar_pvalue(worse, better),
                       p_better=stats.mcnemar_pvalue(better, worse), only_base=len(bg.keys() - hg.keys()),
                       only_head=len(hg.keys() - bg.keys()), metrics=_group_metrics(bg, hg, case_ids), cases=rows)


def _group_metrics(bg: dict[str, TestView], hg: dict[str, TestView], case_ids: list[str]) -> list[GroupMetric]:
    """Per metric recorded on both sides: one-sided signed-rank p-values both ways, Holm-corrected over the group."""
    names = {n for c in case_ids for n in bg[c].metrics} & {n for c in case_ids for n in hg[c].metrics}
    metrics: list[GroupMetric] = []
    raw_worse, raw_better = [], []
    for name in sorted(names):
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
    return metrics


def _group_findings(g: GoldenGroup, alpha: float, out: Verdicts) -> None:
    key = g.key
    passes = f"{g.base_passes}/{g.judged_pairs} pass", f"{g.head_passes}/{g.judged_pairs} pass"
    if g.p_worse < alpha:
        out.regressions.append(Finding("golden-passfail", key, *passes,
                                       f"{g.worse} case(s) pass → fail, {g.better} fail → pass; exact McNemar "
                                       f"p = {g.p_worse:.3g}", magnitude=(g.worse - g.better) / max(g.judged_pairs, 1)))
    elif g.p_better < alpha:
        out.improvements.append(Finding("golden-passfail", key, *passes,
                                        f"{g.better} case(s) fail → pass, {g.worse} pass → fail; exact McNemar "
                                        f"p = {g.p_better:.3g}",
                                        magnitude=(g.better - g.worse) / max(g.judged_pairs, 1)))
    for m in g.metrics:
        means = fmt_num(m.base_mean), fmt_num(m.head_mean)
        tail = f"{m.pairs} paired cases, Wilcoxon signed-rank"
        size = abs(m.head_mean - m.base_mean)
        if m.p_worse_holm < alpha:
            out.regressions.append(Finding("golden-metric", key, *means,
                                           f"{m.name} worse: {tail} p = {m.p_worse:.3g}, Holm-adjusted "
                                           f"{m.p_worse_holm:.3g}", magnitude=size, metric=m.name))
        elif m.p_better_holm < alpha:
            out.improvements.append(Finding("golden-metric-better", key, *means,
                                            f"{m.name} better: {tail} p = {m.p_better:.3g}, Holm-adjusted "
                                            f"{m.p_better_holm:.3g}", magnitude=size, metric=m.name))
        elif (m.head_mean - m.base_mean) * (1 if m.higher_is_better else -1) < 0:
            out.noise.append(Finding("metric-noise", key, *means,
                                     f"{m.name}: {tail} Holm-adjusted p = {m.p_worse_holm:.3g} ≥ α = {alpha:g}",
                                     magnitude=size, metric=m.name))
