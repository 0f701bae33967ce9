"""Golden sets present in both runs, paired per case: exact McNemar on pass/fail, Wilcoxon signed-rank per metric."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import power, stats
from .family import Comparison
from .findings import GoldenCaseRow, GoldenGroup, GroupMetric
from .format import fmt_num
from .growth import group_growth
from .options import DiffOptions
from .views import ERROR, FAIL, PASS, TestView


@dataclass
class GoldenChanges:
    """The paired golden groups and their comparisons (decided with the diff's family)."""

    groups: list[GoldenGroup] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    links: list[tuple[GoldenGroup | GroupMetric, Comparison]] = field(default_factory=list)

    def copy_adjusted(self) -> None:
        """After the family's correction: the adjusted p-values onto the groups and their metrics."""
        for target, c in self.links:
            if isinstance(target, GroupMetric):
                target.p_worse_holm, target.p_better_holm = c.p_worse_adj, c.p_better_adj
            else:
                target.p_worse_adj = c.p_worse_adj


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


def group_views(views: dict[str, TestView]) -> dict[str, dict[str, TestView]]:
    """Golden test items by group key (test function + variant + golden path), then by case id."""
    groups: dict[str, dict[str, TestView]] = {}
    for view in views.values():
        if view.golden_path is None or view.case_id is None:
            continue
        variant = _variant(view.params, view.case_id)
        key = f"{view.function_key}{'[' + variant + ']' if variant else ''} over {view.golden_path}"
        groups.setdefault(key, {})[view.case_id] = view
    return groups


def compare_goldens(base_views: dict[str, TestView], head_views: dict[str, TestView],
                    options: DiffOptions) -> GoldenChanges:
    """Pair the cases of every golden group found in both runs; one comparison for pass/fail, one per metric."""
    base_groups, head_groups = group_views(base_views), group_views(head_views)
    changes = GoldenChanges()
    for key in sorted(base_groups.keys() & head_groups.keys()):
        group = _paired_group(key, base_groups[key], head_groups[key])
        if group is None:
            continue
        changes.groups.append(group)
        group.mde = power.mde_paired_rates(group.worse + group.better, group.judged_pairs, options.alpha)
        passfail = _passfail(group, options)
        changes.comparisons.append(passfail)
        changes.links.append((group, passfail))
        for metric, diffs in _group_metrics(base_groups[key], head_groups[key], [row.case_id for row in group.cases]):
            c = _metric_comparison(group, metric, diffs, options)
            changes.comparisons.append(c)
            changes.links.append((metric, c))
            group.metrics.append(metric)
        changes.comparisons.extend(group_growth(key, base_groups[key], head_groups[key], options))
    return changes


def _paired_group(key: str, bg: dict[str, TestView], hg: dict[str, TestView]) -> GoldenGroup | None:
    case_ids = sorted(bg.keys() & hg.keys())
    if not case_ids:
        return None
    any_view = hg[case_ids[0]]
    worse = better = judged = base_passes = head_passes = 0
    rows, evidence = [], []
    for case_id in case_ids:
        b, h = bg[case_id], hg[case_id]
        rows.append(GoldenCaseRow(case_id, h.nodeid, b.nodeid, b.outcome, h.outcome,
                                  dict(sorted(b.metrics.items())), dict(sorted(h.metrics.items()))))
        evidence.extend(_case_evidence(case_id, b, h))
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
                       only_head=len(hg.keys() - bg.keys()), metrics=[], cases=rows, evidence=evidence)


def _case_evidence(case_id: str, b: TestView, h: TestView) -> list[str]:
    out = []
    if b.outcome in PASS and h.outcome == FAIL:
        out.append(f"{case_id}: passed → failed" + (f" ({h.message})" if h.message else ""))
    elif b.outcome == FAIL and h.outcome in PASS:
        out.append(f"{case_id}: failed → passed")
    for name in sorted(n for n, ok in h.metric_passed.items() if not ok and b.metric_passed.get(n) is True):
        out.append(f"{case_id}: {name} {fmt_num(b.metrics.get(name))} → {fmt_num(h.metrics.get(name))} "
                   "crossed its bound")
    return out


def _passfail(g: GoldenGroup, options: DiffOptions) -> Comparison:
    n = g.judged_pairs
    both = g.base_passes - g.worse
    neither = n - both - g.worse - g.better
    needs = None
    if g.mde is not None and g.mde > options.min_effect:
        needs = power.n_paired_rates(g.worse + g.better, n, options.min_effect, options.alpha)
    return Comparison(
        kind="golden-passfail", better_kind="golden-passfail-better", subject=g.key,
        base=f"{g.base_passes}/{n} pass", head=f"{g.head_passes}/{n} pass", test="exact McNemar",
        p_worse=g.p_worse, p_better=g.p_better, effect=(g.worse - g.better) / max(n, 1), unit="pp",
        interval=power.newcombe_paired(both, g.worse, g.better, neither) if n else None, mde=g.mde,
        practical=options.min_effect, needs_n=needs, n_text="cases", noise_kind="golden-noise",
        note=f"{g.worse} case(s) pass → fail, {g.better} fail → pass", evidence=list(g.evidence),
        min_p=0.5 ** (g.worse + g.better))


def _group_metrics(bg: dict[str, TestView], hg: dict[str, TestView],
                   case_ids: list[str]) -> list[tuple[GroupMetric, list[float]]]:
    """Per metric recorded on both sides: one-sided signed-rank p-values both ways; diffs oriented worse > 0."""
    names = {n for c in case_ids for n in bg[c].metrics} & {n for c in case_ids for n in hg[c].metrics}
    metrics = []
    for name in sorted(names):
        pairs = [(bg[c].metrics[name], hg[c].metrics[name]) for c in case_ids
                 if name in bg[c].metrics and name in hg[c].metrics
                 and bg[c].outcome != ERROR and hg[c].outcome != ERROR]
        if not pairs:
            continue
        higher = not any(name in bg[c].lower_is_better or name in hg[c].lower_is_better for c in case_ids)
        sign = 1.0 if higher else -1.0
        better = [sign * (hv - bv) for bv, hv in pairs]
        pw, pb = stats.signed_rank_pvalue(better), stats.signed_rank_pvalue([-d for d in better])
        metric = GroupMetric(name, len(pairs), stats.mean([p[0] for p in pairs]) or 0.0,
                             stats.mean([p[1] for p in pairs]) or 0.0, higher, pw, 1.0, pb, 1.0)
        metrics.append((metric, [-d for d in better]))
    return metrics


def _metric_comparison(g: GoldenGroup, m: GroupMetric, worse_by: list[float], options: DiffOptions) -> Comparison:
    practical = options.min_effect * abs(m.base_mean) if m.base_mean else options.min_effect
    m.mde = power.mde_paired_scores(worse_by, options.alpha)
    hl = power.hodges_lehmann(worse_by)
    needs = power.n_paired_scores(worse_by, practical, options.alpha) if m.mde > practical else None
    return Comparison(
        kind="golden-metric", better_kind="golden-metric-better", subject=g.key, base=fmt_num(m.base_mean),
        head=fmt_num(m.head_mean), test=f"{m.name}: Wilcoxon signed-rank over {m.pairs} paired cases",
        p_worse=m.p_worse, p_better=m.p_better, effect=hl[0] if hl else 0.0,
        interval=(hl[1], hl[2]) if hl else None, mde=m.mde, practical=practical, needs_n=needs, n_text="cases",
        metric=m.name, noise_kind="metric-noise", worse_word="worse by", better_word="better by",
        min_p=0.5 ** sum(1 for d in worse_by if d != 0),
        note=f"Hodges–Lehmann shift; mean {fmt_num(m.base_mean)} → {fmt_num(m.head_mean)}")
