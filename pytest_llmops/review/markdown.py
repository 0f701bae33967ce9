"""The PR comment: a markdown rendering of a :class:`~.diff.DiffResult` (template ``templates/diff.md.j2``).

Same inputs give the same bytes: everything is sorted by the diff, and the only dates shown come from the
records.  The text never exceeds :data:`MAX_CHARS` (GitHub refuses comments over 65,536 characters): long
sections are cut to fewer rows, with a note saying how many were left out and where to find them.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from .diff import DiffResult
from .findings import Finding, GroupMetric
from .format import fmt_num, fmt_pct, fmt_s, fmt_usd
from .judge_section import NOTE as JUDGE_NOTE
from .judge_section import judge_section, judge_text

MAX_CHARS = 65_000
TEMPLATES = Path(__file__).with_name("templates")
_ROW_LIMITS = (None, 400, 150, 60, 25, 10, 5, 2)
_CELL_CHARS = 300


def cell(value: Any) -> str:
    """Text safe inside a markdown table cell (GitHub flavour): one line, pipes and markup escaped."""
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > _CELL_CHARS:
        text = text[: _CELL_CHARS - 1] + "…"
    text = html.escape(text, quote=False)
    for ch in "\\|*_`[]~":
        text = text.replace(ch, "\\" + ch)
    return text


def code(value: Any) -> str:
    """A code span safe inside a table cell (node ids, prompt names)."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    if len(text) > _CELL_CHARS:
        text = text[: _CELL_CHARS - 1] + "…"
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["code"] = code
    return env


def _section(key: str, title: str, columns: list[str], rows: list[list[str]], limit: int | None, *,
             fold_over: int = 10, always_open: bool = False, note: str = "") -> dict[str, Any]:
    """Rows up to ``fold_over`` are shown; the rest go into a ``<details>`` block (all of them when the
    section is not ``always_open``); beyond ``limit`` rows are left out with a note."""
    shown = rows if limit is None else rows[:limit]
    split = fold_over if always_open or len(shown) <= fold_over else 0
    return {
        "key": key,
        "title": title,
        "count": len(rows),
        "columns": columns,
        "rows": shown[:split] if len(shown) > fold_over else shown,
        "folded_rows": shown[split:] if len(shown) > fold_over else [],
        "left_out": len(rows) - len(shown),
        "note": note,
    }


def _finding_rows(findings: list[Finding], numbered: bool = False) -> list[list[str]]:
    rows = []
    for i, f in enumerate(findings, start=1):
        row = [cell(f.label), code(f.subject), cell(f.base), cell(f.head), cell(f.detail)]
        rows.append([str(i), *row] if numbered else row)
    return rows


def _golden_metric_text(m: GroupMetric) -> str:
    return f"{m.name} {fmt_num(m.base_mean)} → {fmt_num(m.head_mean)} (adj. p {m.p_worse_holm:.3g})"


def _mde(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞" if value == float("inf") else f"{value * 100:.1f} pp"


def _golden_rows(result: DiffResult) -> list[list[str]]:
    return [[code(g.key), str(g.pairs), f"{g.base_passes}/{g.judged_pairs}", f"{g.head_passes}/{g.judged_pairs}",
             f"{g.worse} / {g.better}", f"{g.p_worse:.3g} (adj. {g.p_worse_adj:.3g})", _mde(g.mde),
             cell("; ".join(_golden_metric_text(m) for m in g.metrics) or "—"),
             cell("; ".join(g.evidence[:10]) + (f"; and {len(g.evidence) - 10} more" if len(g.evidence) > 10 else "")
                  or "—")]
            for g in result.golden_groups]


def _sections(result: DiffResult, limit: int | None) -> list[dict[str, Any]]:
    fcols = ["kind", "test / subject", "base", "head", "detail"]
    sections = [
        _section("regressions", "❌ Regressions", ["#", *fcols], _finding_rows(result.regressions, True), limit,
                 fold_over=25, always_open=True, note="ranked by severity"),
        _section("unconfirmed", "❔ Unconfirmed (one sample; not counted as regressions)", fcols,
                 _finding_rows(result.unconfirmed), limit, always_open=True,
                 note="a single live test without @sampling flipped; `--fail-on flip` fails on these"),
        _section("improvements", "✅ Improvements", fcols, _finding_rows(result.improvements), limit),
        _section("feedback", "👍 Cases from negative feedback that now pass", ["test", "base", "head"],
                 [[code(c.nodeid), cell(c.base or "not in base"), cell(c.head)] for c in result.feedback.now_passing],
                 limit, note=f"{len(result.feedback.still_failing)} case(s) from negative feedback still failing"),
        _section("prompts", "📝 Prompt and golden-set changes", fcols, _finding_rows(result.prompt_changes), limit),
        _section(*judge_section(result.judge, cell), limit, always_open=True, note=cell(JUDGE_NOTE)),
        _section("errors", "⚠ Errors (infrastructure; never counted as regressions)",
                 ["test", "kind", "base", "message"],
                 [[code(e.nodeid), cell(e.error_kind), cell(e.base_outcome or "—"), cell(e.message)]
                  for e in result.errors], limit),
        _section("base-errored", "New failures (base errored, so not a regression)", ["test", "message"],
                 [[code(c.nodeid), cell(c.note)] for c in result.new_failures_base_errored], limit),
        _section("golden", "Golden sets (paired per case; the group is the unit, cases are evidence)",
                 ["golden set", "cases", "base pass", "head pass", "pass→fail / fail→pass", "McNemar p",
                  "MDE (80%)", "metrics", "evidence (per case)"], _golden_rows(result), limit),
        _section("metrics", "Metric means over matched tests", ["metric", "tests", "base", "head", "Δ", "tolerance"],
                 [[code(m.name), str(m.tests), fmt_num(m.base_mean), fmt_num(m.head_mean),
                   f"{m.head_mean - m.base_mean:+.4g}" + ("" if m.higher_is_better else " (lower is better)"),
                   (m.tolerance or "—") + (" ❌" if m.breached else "")]
                  for m in result.metric_changes], limit),
        _section("other", "Other outcome changes", ["test", "base", "head", "message"],
                 [[code(c.nodeid), cell(c.base), cell(c.head), cell(c.note)] for c in result.other_changes], limit),
        _section("still-failing", "Still failing", ["test", "message"],
                 [[code(c.nodeid), cell(c.note)] for c in result.still_failing], limit, fold_over=0),
        _section("added", "Added tests", ["test", "outcome"],
                 [[code(c.nodeid), cell(c.head)] for c in result.added], limit),
        _section("removed", "Removed tests", ["test", "base outcome"],
                 [[code(c.nodeid), cell(c.base)] for c in result.removed], limit),
        _section("noise", "Noise (lower, not significant" + (", or within nightly noise)" if result.history else ")"),
                 fcols, _finding_rows(result.noise), limit, fold_over=0),
        _section("inconclusive", "Inconclusive (too few samples to see a practical drop)", fcols,
                 _finding_rows(result.inconclusive), limit, fold_over=0),
    ]
    return [s for s in sections if s["count"] or (s["key"] == "feedback" and result.feedback)]


def _side_line(side: Any) -> str:
    parts = [code(side.label)]
    if side.commit:
        parts.append(f"commit {code(side.commit[:12])}")
    if side.branch:
        parts.append(f"branch {code(side.branch)}")
    parts.append(f"started {cell(side.started_at)}")
    if side.record_mode:
        parts.append(f"recordings {cell(side.record_mode)}")
    if side.interrupted:
        parts.append("**interrupted**")
    return " · ".join(parts)


def render_markdown(result: DiffResult, *, max_chars: int = MAX_CHARS) -> str:
    """The PR comment; at most ``max_chars`` characters."""
    from .load import gc_paused

    with gc_paused():
        return _render(result, max_chars)


def _render(result: DiffResult, max_chars: int) -> str:
    template = _env().get_template("diff.md.j2")
    text = ""
    for limit in _ROW_LIMITS:
        sections = _sections(result, limit)
        left_out = sum(s["left_out"] for s in sections)
        text = template.render(
            headline=result.headline(),
            alerts=result.alerts(),
            base_line=_side_line(result.base),
            head_line=_side_line(result.head),
            matched=result.matched,
            totals=[[cell(r.name), cell(r.base), cell(r.head), cell(r.delta)] for r in result.totals],
            warnings=[cell(w) for w in result.warnings],
            sections=sections,
            left_out=left_out,
            alpha=f"{result.options.alpha:g}",
            family=cell(result.family_text()),
            history=cell(result.history_text()),
        )
        if len(text) <= max_chars:
            return text
    note = "\n\n… (comment cut at the size limit; see the HTML report or `--format json` for everything)\n"
    cut = text[: max(0, max_chars - len(note) - 40)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n\n</details>" * (cut.count("<details>") - cut.count("</details>"))
    return (cut + note)[:max_chars]


# -- plain text (terminal, end-of-session summary) -------------------------------------------------------------


def render_text(result: DiffResult, *, limit: int = 20) -> str:
    lines = [result.headline(), f"base: {result.base.label}   head: {result.head.label}   matched: {result.matched}"]
    width = max(len(r.name) for r in result.totals)
    for row in result.totals:
        lines.append(f"  {row.name:<{width}}  {row.base} → {row.head}  ({row.delta})")
    lines.append(f"  {result.family_text()}")
    if result.history is not None:
        lines.append(f"  {result.history_text()}")
    lines.extend(f"  ⚠ {w}" for w in result.warnings)

    def block(title: str, items: list[str]) -> None:
        if not items:
            return
        lines.append(f"{title} ({len(items)}):")
        lines.extend(f"  {item}" for item in items[:limit])
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more")

    def finding(f: Finding) -> str:
        return f"{f.label}: {f.subject} ({f.base} → {f.head}) {f.detail}".rstrip()

    block("regressions", [finding(f) for f in result.regressions])
    block("unconfirmed (one sample, not regressions)", [finding(f) for f in result.unconfirmed])
    block("improvements", [finding(f) for f in result.improvements])
    block("cases from negative feedback that now pass",
          [f"{c.nodeid} ({c.base or 'not in base'} → {c.head})" for c in result.feedback.now_passing])
    if result.feedback.still_failing:
        lines.append(f"cases from negative feedback still failing: {len(result.feedback.still_failing)}")
    block("prompt and golden-set changes", [finding(f) for f in result.prompt_changes])
    block("judge (audited against human labels)", judge_text(result.judge))
    block("errors (not regressions)", [f"{e.nodeid} [{e.error_kind}] {e.message}".rstrip() for e in result.errors])
    block("new failures (base errored)", [c.nodeid for c in result.new_failures_base_errored])
    block("other outcome changes", [f"{c.nodeid}: {c.base} → {c.head}" for c in result.other_changes])
    block("added", [f"{c.nodeid} ({c.head})" for c in result.added])
    block("removed", [f"{c.nodeid} ({c.base})" for c in result.removed])
    block("noise (not significant" + (", or within nightly noise)" if result.history else ")"),
          [finding(f) for f in result.noise])
    block("inconclusive", [finding(f) for f in result.inconclusive])
    return "\n".join(lines) + "\n"


# -- one run (``pytest-llmops show``, step summary without a baseline) -----------------------------------------


def _run_summary(record: Any) -> tuple[Any, list[Any]]:
    from .load import as_review_record
    from .views import run_side, test_views

    rec = as_review_record(record, "run")
    views = test_views(rec)
    return run_side(rec, views), sorted(views.values(), key=lambda v: v.nodeid)


def render_run_text(record: Any, *, limit: int = 50) -> str:
    side, views = _run_summary(record)
    lines = [f"{side.label}: {side.tests} tests" + (" — ⚠ INTERRUPTED, partial run" if side.interrupted else "")]
    if side.tests == 0:
        lines.append("  the record has no tests")
    lines.append("  outcomes: " + (", ".join(f"{n} {o}" for o, n in side.outcomes.items()) or "none"))
    if side.pass_rate is not None and side.interval:
        lines.append(f"  pass rate: {side.pass_rate:.1%} (95% Wilson {side.interval[0]:.1%}–{side.interval[1]:.1%}, "
                     f"{side.passes}/{side.judged})")
    lines.append(f"  cost (spent + replayed): {fmt_usd(side.cost_usd)}   tokens: {side.tokens:,}   "
                 f"p95 latency: {fmt_s(side.p95_latency_s)}")
    if side.commit:
        lines.append(f"  commit: {side.commit}")
    for title, outcome in (("failed", "failed"), ("errors", "error")):
        chosen = [v for v in views if v.outcome == outcome]
        if chosen:
            lines.append(f"{title} ({len(chosen)}):")
            for v in chosen[:limit]:
                kind = f" [{v.error_kind}]" if outcome == "error" else ""
                lines.append(f"  {v.nodeid}{kind}: {v.message or ''}".rstrip(": "))
            if len(chosen) > limit:
                lines.append(f"  ... and {len(chosen) - limit} more")
    return "\n".join(lines) + "\n"


def render_run_markdown(record: Any, *, max_chars: int = MAX_CHARS) -> str:
    side, views = _run_summary(record)
    template = _env().get_template("run.md.j2")
    failed = [[code(v.nodeid), cell(v.message)] for v in views if v.outcome == "failed"]
    errors = [[code(v.nodeid), cell(v.error_kind), cell(v.message)] for v in views if v.outcome == "error"]
    rate = "n/a" if side.pass_rate is None or side.interval is None else (
        f"{fmt_pct(side.pass_rate)} [{fmt_pct(side.interval[0])}, {fmt_pct(side.interval[1])}] "
        f"({side.passes}/{side.judged})")
    text = ""
    for limit in _ROW_LIMITS:
        text = template.render(
            side_line=_side_line(side), interrupted=side.interrupted, empty=side.tests == 0,
            rows=[["tests", str(side.tests)], ["pass rate (95% Wilson)", cell(rate)],
                  ["outcomes", cell(", ".join(f"{n} {o}" for o, n in side.outcomes.items()) or "none")],
                  ["cost (spent + replayed)", fmt_usd(side.cost_usd)], ["tokens", f"{side.tokens:,}"],
                  ["p95 latency", fmt_s(side.p95_latency_s)]],
            sections=[s for s in (
                _section("failed", "Failed", ["test", "message"], failed, limit),
                _section("errors", "Errors (infrastructure)", ["test", "kind", "message"], errors, limit),
            ) if s["count"]],
        )
        if len(text) <= max_chars:
            return text
    return text[: max_chars - 60] + "\n\n… (cut at the size limit)\n"
