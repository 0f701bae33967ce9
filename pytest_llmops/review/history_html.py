"""The history report as one self-contained HTML file (template ``templates/history.html.j2``).

Like :mod:`.html`: one file, no network, plotly.js inlined once.  Figures: the outcome strip of every test
over the runs (a heatmap, flaky tests first), the pass rate with its per-run Wilson interval, each golden
set's pass rate and metric means, cost, tokens and p95 latency; every detected change point is a dashed line
labelled with the run and commit where the new level starts.  Tables: change points, and every test with its
label, flip rate and Wilson interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .format import fmt_num
from .history import History, Trend
from .history_flaky import wilson

TEMPLATES = Path(__file__).with_name("templates")
MAX_STRIP_TESTS = 200
MAX_TABLE_TESTS = 2000
STRIP_CODES = {".": 0, "S": 1, "X": 1, "E": 2, "F": 3, "P": 4}
STRIP_COLORS = [(0.0, "#ffffff"), (0.2, "#ffffff"), (0.2, "#c9ced6"), (0.4, "#c9ced6"), (0.4, "#e8a33d"),
                (0.6, "#e8a33d"), (0.6, "#d1495b"), (0.8, "#d1495b"), (0.8, "#2a9d55"), (1.0, "#2a9d55")]


def short_commit(commit: str | None) -> str:
    return commit[:10] if commit else "—"


def _figure_html(fig: Any, div_id: str, first: bool) -> str:
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=first, full_html=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _hover(history: History) -> list[list[str]]:
    return [[r.started_at[:16], short_commit(r.commit)] for r in history.runs]


def _mark_changes(fig: Any, history: History, trend: Trend) -> None:
    for c in trend.change_points:
        run = history.runs[c.index]
        fig.add_vline(x=c.index - 0.5, line_dash="dash", line_color="#9a6700")
        fig.add_annotation(x=c.index - 0.5, y=1.0, yref="paper", showarrow=False, xanchor="left", yanchor="bottom",
                           text=f"run {c.index} · {short_commit(run.commit)}", font={"size": 10, "color": "#9a6700"})


def _trend_figure(go: Any, history: History, trend: Trend) -> Any:
    x = list(range(len(history.runs)))
    fig = go.Figure()
    if trend.key == "pass_rate":
        bands = [wilson(r.passes, r.judged) or (None, None) for r in history.runs]
        fig.add_trace(go.Scatter(x=x, y=[b[1] for b in bands], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[b[0] for b in bands], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(47,111,223,0.15)", name="95% Wilson interval", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=trend.values, mode="lines+markers", name=trend.metric or trend.key,
                             marker={"size": 4}, line={"color": "#2f6fdf"}, customdata=_hover(history),
                             hovertemplate="run %{x}<br>%{customdata[0]}<br>commit %{customdata[1]}<br>%{y}"
                                           "<extra></extra>"))
    _mark_changes(fig, history, trend)
    fig.update_layout(title=trend.title, height=320, margin={"l": 60, "r": 20, "t": 60, "b": 40},
                      xaxis_title="run (oldest → newest)", yaxis_title=trend.unit, showlegend=trend.key == "pass_rate",
                      legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.15})
    return fig


def _strip_figure(go: Any, history: History) -> Any:
    shown = history.tests[:MAX_STRIP_TESTS]
    labels = [("⚠ " if t.flaky else "") + (t.nodeid if len(t.nodeid) <= 70 else "…" + t.nodeid[-69:]) for t in shown]
    if len(set(labels)) < len(labels):  # shortened ids that collide would share one heatmap row: number them
        labels = [f"{i + 1}. {label}" for i, label in enumerate(labels)]
    z = [[STRIP_CODES.get(c, 0) for c in t.strip] for t in shown]
    text = [list(t.strip) for t in shown]
    fig = go.Figure(go.Heatmap(z=z, y=labels, text=text, zmin=0, zmax=4, colorscale=STRIP_COLORS, showscale=False,
                               xgap=1 if len(history.runs) <= 120 else 0, ygap=1,
                               hovertemplate="%{y}<br>run %{x}: %{text}<extra></extra>"))
    fig.update_layout(title="Outcome per test and run (green pass, red fail, orange error, grey skip/xfail, "
                            "white absent)", height=max(260, 18 * len(shown) + 120),
                      margin={"l": 20, "r": 20, "t": 50, "b": 40}, xaxis_title="run (oldest → newest)")
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def figures(history: History) -> list[dict[str, str]]:
    import plotly.graph_objects as go

    figs: list[tuple[str, str, Any]] = [("fig-strip", "Outcome strip", _strip_figure(go, history))]
    for i, trend in enumerate(history.trends):
        div = {"pass_rate": "fig-pass-rate", "cost_usd": "fig-cost", "tokens": "fig-tokens",
               "p95_latency_s": "fig-latency"}.get(trend.key, f"fig-golden-{i}")
        if any(v is not None for v in trend.values):
            figs.append((div, trend.title, _trend_figure(go, history, trend)))
    return [{"id": div, "title": title, "html": _figure_html(fig, div, i == 0)}
            for i, (div, title, fig) in enumerate(figs)]


def _interval(interval: tuple[float, float] | None) -> str:
    return "—" if interval is None else f"[{interval[0]:.1%}, {interval[1]:.1%}]"


def _rows(history: History) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    changes = []
    for trend in history.trends:
        for c in trend.change_points:
            run = history.runs[c.index]
            rel = f" ({c.relative:+.1%})" if c.relative is not None else ""
            changes.append({"trend": trend.title, "index": c.index, "started_at": run.started_at,
                            "commit": short_commit(run.commit), "label": run.label,
                            "change": f"{fmt_num(c.before)} → {fmt_num(c.after)}{rel}"})
    tests = []
    for t in history.tests[:MAX_TABLE_TESTS]:
        kind = "sampled" if t.sampled else ("replayed" if t.deterministic else "live")
        tests.append({"nodeid": t.nodeid, "label": t.label, "kind": kind, "strip": t.strip[-80:],
                      "flips": f"{t.flips}/{max(t.judged - 1, 0)}",
                      "rate": "—" if t.flip_rate is None else f"{t.flip_rate:.1%}", "interval": _interval(t.interval),
                      "shifts": "" if t.flaky else ", ".join(f"run {i} ({short_commit(history.runs[i].commit)})"
                                                             for i in t.shifts)})
    return changes, tests


def render_history_html(history: History) -> str:
    import jinja2

    changes, tests = _rows(history)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    first, last = history.runs[0], history.runs[-1]
    return env.get_template("history.html.j2").render(
        h=history, first=first, last=last, figures=figures(history), changes=changes, tests=tests,
        hidden=max(0, len(history.tests) - MAX_TABLE_TESTS), flaky=history.flaky,
    )
