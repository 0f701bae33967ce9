"""The ``llmops`` section of pytest's terminal summary."""

from __future__ import annotations

from typing import Any

from ..record.recorder import bound_parts
from .state import RunState


def _metric_text(metric: dict[str, Any], informative: bool = False) -> str:
    """``name=value(bounds)``, with a red cross on a missed bound unless the miss is ``informative``."""
    bounds = bound_parts(metric.get("min"), metric.get("max"), space="")
    mark = ""
    if metric.get("passed") is False:
        mark = " (informative: gated on the aggregate)" if informative else " ✗"
    return f"{metric['name']}={metric['value']:.3g}{'(' + ','.join(bounds) + ')' if bounds else ''}{mark}"


def _aggregated(entry: dict[str, Any]) -> set[str]:
    """Metric names a passed test's ``@pytest.mark.aggregate`` markers gate on the run-level value instead."""
    if entry.get("outcome") != "passed":
        return set()
    names = set()
    for marker in entry.get("markers") or []:
        args = marker.get("args") or []
        name = args[0] if args else (marker.get("kwargs") or {}).get("metric")
        if marker.get("name") == "aggregate" and isinstance(name, str):
            names.add(name)
    return names


def _missed(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Metrics whose missed per-case bound deserves a cross (not those gated only by an aggregate)."""
    gated = _aggregated(entry)
    return [m for m in entry.get("metrics") or [] if m.get("passed") is False and m.get("name") not in gated]


def _notable(entry: dict[str, Any]) -> bool:
    return entry.get("outcome") != "passed" or bool(_missed(entry))


def _aggregate_lines(state: RunState) -> list[str]:
    """The run's lines, with the cross on failing aggregates (where a gate really failed)."""
    failing: set[str] = set()
    if state.record is not None:
        from ..record.aggregates import describe

        failing = {describe(a) for a in state.record.get("aggregates") or [] if not a.get("passed")}
    return [f"{line} ✗" if line in failing else line for line in state.final_lines]


def write_terminal_summary(state: RunState, reporter: Any) -> None:
    verbose = reporter.config.get_verbosity() > 0
    recorded = [e for e in state.collector.entries.values()
                if e.get("metrics") or e.get("calls") or e.get("sampling")]
    lines: list[str] = []
    shown = recorded if verbose else [e for e in recorded if _notable(e)][:20]
    for entry in shown:
        parts = []
        if (entry.get("sampling") or {}).get("verdict"):  # not for a test that errored before its verdict
            s = entry["sampling"]
            parts.append(f"samples {s.get('passes')}/{s.get('n_run')} ({s.get('verdict')})")
            if s.get("pass_k"):
                from ..sampling.passk import describe_pass_k

                parts.append(describe_pass_k(s["pass_k"]))
        metrics = entry.get("metrics") or []
        if not verbose:
            metrics = _missed(entry) or metrics[-3:]
        gated = _aggregated(entry)
        parts.extend(_metric_text(m, m.get("name") in gated) for m in metrics[:8])
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
    lines.extend(_aggregate_lines(state))
    if state.report_path is not None and record is not None:
        lines.append(f"llmops run record: {state.report_path}")
    if not lines:
        return
    reporter.write_sep("-", "llmops")
    for line in lines:
        reporter.write_line(line)
