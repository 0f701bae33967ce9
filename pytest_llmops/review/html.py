"""A self-contained HTML report of a diff (template ``templates/report.html.j2``).

One file, no network: plotly.js is inlined once (``include_plotlyjs=True`` on the first figure).  Charts:
pass rates with interval bars (the whole run with its Wilson interval, and sampled tests with the interval
their record carries), per-test cost and p95 latency (the tests that cost most), metric mean deltas.  Then
the findings, and one table per golden set with a ``<details>`` drill-down per case showing what the test
recorded: failure message, notes, metric details (judge reasoning, retrieved ids...), artifacts (prompt
messages, output text...) and its model calls, for base and head.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import judge_section, stats
from .diff import DiffResult
from .format import fmt_num
from .load import ReviewRecord, as_review_record, gc_paused
from .views import test_views

TEMPLATES = Path(__file__).with_name("templates")
MAX_BARS = 30
MAX_DRILLDOWN_CASES = 300
MAX_JSON_CHARS = 4000


def _short(nodeid: str, limit: int = 60) -> str:
    return nodeid if len(nodeid) <= limit else "…" + nodeid[-(limit - 1):]


def _figure_html(fig: Any, div_id: str, first: bool) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=first, full_html=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _bars(go: Any, title: str, labels: list[str], base: list[float | None], head: list[float | None],
          base_err: tuple[list[float], list[float]] | None = None,
          head_err: tuple[list[float], list[float]] | None = None, axis: str = "") -> Any:
    fig = go.Figure()
    for name, values, err, color in (("base", base, base_err, "#8c9bab"), ("head", head, head_err, "#2f6fdf")):
        error_y = None
        if err is not None:
            error_y = {"type": "data", "symmetric": False, "array": err[1], "arrayminus": err[0], "visible": True}
        fig.add_trace(go.Bar(name=name, x=labels, y=values, error_y=error_y, marker_color=color))
    fig.update_layout(title=title, barmode="group", height=420, margin={"l": 60, "r": 20, "t": 50, "b": 140},
                      yaxis_title=axis, legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.12})
    fig.update_xaxes(tickangle=-35)
    return fig


def _interval(view: Any) -> tuple[float, float, float] | None:
    if view.sampling is None or not view.sampling[1]:
        return None
    k, n = view.sampling
    rate = k / n
    given = (view.entry.get("sampling") or {}).get("interval")
    lo, hi = given if isinstance(given, list) and len(given) == 2 else (stats.wilson_interval(k, n) or (rate, rate))
    return rate, max(0.0, rate - lo), max(0.0, hi - rate)


def _figures(result: DiffResult, base_views: dict[str, Any], head_views: dict[str, Any]) -> list[dict[str, str]]:
    import plotly.graph_objects as go

    figures: list[tuple[str, str, Any]] = []
    # pass rates
    labels, b_vals, h_vals, b_err, h_err = [], [], [], ([], []), ([], [])
    for side, vals, err in ((result.base, b_vals, b_err), (result.head, h_vals, h_err)):
        rate = side.pass_rate
        vals.append(rate)
        lo, hi = side.interval or (rate or 0.0, rate or 0.0)
        err[0].append(max(0.0, (rate or 0.0) - lo))
        err[1].append(max(0.0, hi - (rate or 0.0)))
    labels.append("whole run")
    sampled = []
    for nodeid in sorted(base_views.keys() & head_views.keys()):
        b, h = _interval(base_views[nodeid]), _interval(head_views[nodeid])
        if b and h:
            sampled.append((-abs(h[0] - b[0]), nodeid, b, h))
    for _, nodeid, b, h in sorted(sorted(sampled)[:MAX_BARS], key=lambda s: s[1]):
        labels.append(_short(nodeid))
        for vals, err, point in ((b_vals, b_err, b), (h_vals, h_err, h)):
            vals.append(point[0])
            err[0].append(point[1])
            err[1].append(point[2])
    fig = _bars(go, "Pass rate with 95% interval (whole run: Wilson; sampled tests: as recorded)", labels, b_vals,
                h_vals, b_err, h_err, "pass rate")
    fig.update_yaxes(range=[0, 1.05])
    figures.append(("fig-pass-rates", "Pass rates", fig))
    # per-test cost and latency
    matched = sorted(base_views.keys() & head_views.keys())
    for div, title, axis, value in (
        ("fig-cost", "Per-test cost (spent + replayed), most expensive tests", "USD", lambda v: v.cost_usd),
        ("fig-latency", "Per-test p95 call latency, slowest tests", "seconds",
         lambda v: stats.percentile(v.latencies, 95)),
    ):
        rows = []
        for nodeid in matched:
            b, h = value(base_views[nodeid]), value(head_views[nodeid])
            if b or h:
                rows.append((-max(b or 0.0, h or 0.0), nodeid, b, h))
        top = sorted(rows)[:MAX_BARS]
        if top:
            figures.append((div, title, _bars(go, title, [_short(r[1]) for r in top], [r[2] for r in top],
                                              [r[3] for r in top], axis=axis)))
    # metric deltas
    if result.metric_changes:
        names = [m.name for m in result.metric_changes]
        # relative change, so a 0-1 score and a character count share one axis (absolute when the base is 0)
        deltas = [(m.head_mean - m.base_mean) / abs(m.base_mean) * 100 if m.base_mean else m.head_mean - m.base_mean
                  for m in result.metric_changes]
        colors = ["#2a9d55" if (d >= 0) == m.higher_is_better or d == 0 else "#d1495b"
                  for d, m in zip(deltas, result.metric_changes, strict=True)]
        labels = [f"{fmt_num(m.base_mean)} → {fmt_num(m.head_mean)}" for m in result.metric_changes]
        fig = go.Figure(go.Bar(x=names, y=deltas, marker_color=colors, text=labels))
        fig.update_layout(title="Metric means over matched tests: change head vs base, % (green: better, red: worse)",
                          height=380, margin={"l": 60, "r": 20, "t": 50, "b": 100}, yaxis_title="Δ mean, % of base")
        figures.append(("fig-metrics", "Metric deltas", fig))
    return [{"id": div, "title": title, "html": _figure_html(fig, div, i == 0)}
            for i, (div, title, fig) in enumerate(figures)]


def _json(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_JSON_CHARS else text[:MAX_JSON_CHARS] + "\n… (cut)"


def _drilldown(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a reviewer wants to see of one test: the text the model got and gave, scores and their reasons."""
    if entry is None:
        return None
    metrics = [{"name": m["name"], "value": fmt_num(m["value"]), "passed": m.get("passed"),
                "details": _json(m["details"]) if m.get("details") else ""} for m in entry.get("metrics") or ()]
    calls = [{"model": c.get("model") or "?", "tokens": c.get("total_tokens") or 0,
              "cost": c.get("replayed_cost_usd") if c.get("cached") else c.get("cost_usd"),
              "latency": c.get("recorded_latency_s") if c.get("cached") else c.get("latency_s"),
              "cached": bool(c.get("cached")), "error": _json(c["error"]) if c.get("error") else ""}
             for c in entry.get("calls") or ()]
    sampling = entry.get("sampling")
    return {
        "outcome": entry.get("outcome"),
        "message": entry.get("message") or "",
        "notes": list(entry.get("notes") or ()),
        "metrics": metrics,
        "artifacts": _json(entry["artifacts"]) if entry.get("artifacts") else "",
        "calls": calls,
        "sampling": "" if not sampling else _json({k: v for k, v in sampling.items() if k != "samples"}),
    }


def render_html(base: Any, head: Any, result: DiffResult) -> str:
    """The report as one HTML string (plotly.js inline)."""
    with gc_paused():
        return _render(as_review_record(base, result.base.label), as_review_record(head, result.head.label), result)


def _render(base: ReviewRecord, head: ReviewRecord, result: DiffResult) -> str:
    import jinja2

    base_views, head_views = test_views(base), test_views(head)
    groups = []
    for g in result.golden_groups:
        metric_names = sorted({n for c in g.cases for n in (*c.head_metrics, *c.base_metrics)})
        cases = []
        for i, c in enumerate(g.cases):
            changed = c.base_outcome != c.head_outcome
            drill = i < MAX_DRILLDOWN_CASES or changed
            cases.append({
                "case_id": c.case_id, "nodeid": c.nodeid, "base": c.base_outcome or "—", "head": c.head_outcome or "—",
                "changed": changed,
                "metrics": [(fmt_num(c.base_metrics.get(n)), fmt_num(c.head_metrics.get(n))) for n in metric_names],
                "base_detail": _drilldown(base_views[c.base_nodeid].entry) if drill else None,
                "head_detail": _drilldown(head_views[c.nodeid].entry) if drill else None,
            })
        groups.append({"g": g, "metric_names": metric_names, "cases": cases,
                       "hidden": max(0, len(g.cases) - MAX_DRILLDOWN_CASES)})
    changed = []
    nodeids = [f.subject for f in result.regressions + result.improvements + result.noise
               if f.kind in ("outcome", "metric-threshold", "sampled", "fixed", "rate-noise")]
    nodeids += [e.nodeid for e in result.errors] + [c.nodeid for c in result.new_failures_base_errored]
    for nodeid in sorted(set(nodeids))[:MAX_DRILLDOWN_CASES]:
        base_view, head_view = base_views.get(nodeid), head_views.get(nodeid)
        if base_view is not None and base_view.golden_path and head_view is not None and head_view.golden_path:
            continue  # shown with its golden set
        changed.append({"nodeid": nodeid,
                        "base_detail": _drilldown(base_view.entry) if base_view else None,
                        "head_detail": _drilldown(head_view.entry) if head_view else None})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    return env.get_template("report.html.j2").render(
        r=result,
        headline=result.headline(),
        figures=_figures(result, base_views, head_views),
        groups=groups,
        changed=changed,
        fmt_p=lambda p: f"{p:.3g}",
        judge=judge_section, judge_rows=judge_section.judge_rows(result.judge),
    )
