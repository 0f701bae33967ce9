"""The ``llmops`` section of pytest's terminal summary."""

from __future__ import annotations

from typing import Any

from ..record.recorder import bound_parts
from .state import RunState


def _metric_text(metric: dict[str, Any]) -> str:
    bounds = bound_parts(metric.get("min"), metric.get("max"), space="")
    mark = "" if metric.get("passed") is None else ("" if metric["passed"] else " ✗")
    return f"{metric['name']}={metric['value']:.3g}{'(' + ','.join(bounds) + ')' if bounds else ''}{mark}"


def write_terminal_summary(state: RunState, reporter: Any) -> None:
    verbose = reporter.config.get_verbosity() > 0
    recorded = [e for e in state.collector.entries.values()
                if e.get("metrics") or e.get("calls") or e.get("sampling")]
    lines: list[str] = []
    def notable(entry: dict[str, Any]) -> bool:
        return entry.get("outcome") != "passed" or any(m.get("passed") is False for m in entry.get("metrics") or [])

    shown = recorded if verbose else [e for e in recorded if notable(e)][:20]
    for entry in shown:
        parts = []
        if entry.get("sampling"):
            s = entry["sampling"]
            parts.append(f"samples {s.get('passes')}/{s.get('n_run')} ({s.get('verdict')})")
        metrics = entry.get("metrics") or []
        if not verbose:
            metrics = [m for m in metrics if m.get("passed") is False] or metrics[-3:]
        parts.extend(_metric_text(m) for m in metrics[:8])
        calls = entry.get("calls") or []
        if calls:
            parts.append(f"{len(calls)} call(s)")
        lines.append(f"{(entry.get('outcome') or '?').upper():7} {entry['nodeid']}: {'  '.join(parts)}")
    record = state.record
    if record is not None:
        t = record["totals"]
        cost = "unknown" if t["cost_usd"] is None else f"${t['cost_usd']:.4f}"
        replayed = "unknown" if t["replayed_cost_usd"] is None else f"${t['replayed_cost_usd']:.4f}"
        lines.append(
            f"llmops: {t['tests']} tests, {t['calls']} model calls ({t['replayed_calls']} replayed), "
            f"{t['tokens']['total']} tokens, spent {cost}, replayed {replayed}"
        )
        if not verbose and len(recorded) > len(shown):
            lines.append(f"({len(recorded) - len(shown)} more recorded tests passed; -v lists them)")
    lines.extend(state.final_lines)
    if state.report_path is not None and record is not None:
        lines.append(f"llmops run record: {state.report_path}")
    if not lines:
        return
    reporter.write_sep("-", "llmops")
    for line in lines:
        reporter.write_line(line)
