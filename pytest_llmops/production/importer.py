"""One import run: read the sources, select, redact, merge, sample, append the cases and write their recordings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..assets.goldens.append import append_cases
from ..assets.traces.cases import to_case
from ..assets.traces.genai import traces_from_spans
from ..assets.traces.logs import DEFAULT_MAPPING, read_log
from ..assets.traces.model import Trace
from ..assets.traces.otel import json_values, read_spans
from ..assets.traces.records import DEFAULT_OUTCOMES, read_record
from ..assets.traces.select import TraceFilter, matches, merge_near_duplicates, redact_trace, sample
from ..errors import GoldenError
from .recordings import cassette_path, write_recording


@dataclass
class ImportOptions:
    kind: str = "auto"
    mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MAPPING))
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    filter: TraceFilter = field(default_factory=TraceFilter)
    sample: int | None = None
    seed: int = 0
    redact: bool = True
    dedup_threshold: float | None = 0.9  # None: keep near-duplicates
    prefix: str = "prod"
    recordings_for: str | None = None  # test node id (path::function) whose recordings are written
    recordings_dir: str | None = None
    rootdir: Path = field(default_factory=Path.cwd)
    dry_run: bool = False


@dataclass
class ImportReport:
    read: int = 0
    without_content: int = 0  # traces with model spans but no captured messages
    without_recording: int = 0  # run-record tests with no recording
    filtered_out: int = 0
    merged: int = 0
    sampled_out: int = 0
    without_user: int = 0
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    redacted: Counter[str] = field(default_factory=Counter)
    recordings: list[str] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


def detect_kind(path: Path) -> str:
    """``otel``, ``record`` or ``jsonl``: from the first line's JSON value, else from the keys near the start."""
    try:
        with Path(path).open(encoding="utf-8-sig") as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"cannot read {path}: {exc}") from None
    try:
        first = json_values(head.lstrip().split("\n", 1)[0], str(path))[0]
    except (GoldenError, IndexError):  # a pretty-printed document: look at its keys
        first = {key: {} for key in ("resourceSpans", "context", "schema_version", "tests") if f'"{key}"' in head}
    if isinstance(first, list) and first:
        first = first[0]
    if isinstance(first, dict) and ("resourceSpans" in first or isinstance(first.get("context"), dict)):
        return "otel"
    if isinstance(first, dict) and "schema_version" in first and "tests" in first:
        return "record"
    return "jsonl"


def read_sources(paths: list[Path], options: ImportOptions, report: ImportReport) -> list[Trace]:
    traces: list[Trace] = []
    for path in paths:
        kind = detect_kind(path) if options.kind == "auto" else options.kind
        if kind == "otel":
            found, empty = traces_from_spans(read_spans(path), str(path))
            report.without_content += empty
        elif kind == "record":
            found, empty = read_record(path, options.outcomes)
            report.without_recording += empty
        else:
            found = read_log(path, options.mapping)
        traces += found
    report.read = len(traces) + report.without_content + report.without_recording
    return traces


def select(traces: list[Trace], options: ImportOptions, report: ImportReport) -> list[tuple[Trace, Counter[str]]]:
    kept = [t for t in traces if matches(t, options.filter)]
    report.filtered_out = len(traces) - len(kept)
    redactions = {id(t): (redact_trace(t) if options.redact else Counter()) for t in kept}
    if options.dedup_threshold is not None:
        merged = merge_near_duplicates(kept, options.dedup_threshold)
        report.merged = len(kept) - len(merged)
        kept = merged
    chosen = sample(kept, options.sample, options.seed)
    report.sampled_out = len(kept) - len(chosen)
    for trace in chosen:
        report.redacted.update(redactions[id(trace)])
    return [(t, redactions[id(t)]) for t in chosen]


def import_traces(paths: list[Path], output: Path, options: ImportOptions) -> ImportReport:
    """Import ``paths`` into the golden file ``output``; writes nothing with ``dry_run``."""
    report = ImportReport()
    chosen = select(read_sources(paths, options, report), options, report)
    by_id: dict[str, Trace] = {}
    for trace, redacted in chosen:
        case = to_case(trace, dict(redacted), prefix=options.prefix, feedback_key=options.filter.feedback_key,
                       tags_key=options.filter.tags_key)
        if case is None:
            report.without_user += 1
            continue
        report.cases.append(case)
        by_id[case["id"]] = trace
    if options.dry_run or not report.cases:
        return report
    report.added, report.present = append_cases(output, report.cases)
    if options.recordings_for:
        for case_id in report.added:
            path = cassette_path(options.recordings_for, case_id, options.rootdir, options.recordings_dir)
            write_recording(path, f"{options.recordings_for}[{case_id}]", by_id[case_id].calls)
            report.recordings.append(str(path))
    return report


def summary(report: ImportReport, output: Path, redact: bool) -> list[str]:
    """What the import did, in lines for the terminal."""
    lines = [f"read {report.read} conversation(s); {len(report.cases)} selected, {len(report.added)} added to "
             f"{output}, {len(report.present)} already there"]
    skipped = [(report.filtered_out, "filtered out"), (report.merged, "merged as near-duplicates"),
               (report.sampled_out, "left out of the sample"), (report.without_user, "without a user message"),
               (report.without_recording, "run-record tests without a recording")]
    lines += [f"  {n} {what}" for n, what in skipped if n]
    if report.without_content:
        lines.append(f"  {report.without_content} trace(s) had model spans without message content: capture it with "
                     "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY and "
                     "OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental")
    if redact:
        found = ", ".join(f"{kind} {n}" for kind, n in sorted(report.redacted.items())) or "none found"
        lines.append(f"PII redaction: on (common.pii; replaced: {found}); --no-redact turns it off")
    else:
        lines.append("PII redaction: OFF (--no-redact): the cases hold production text as it was")
    if report.recordings:
        lines.append(f"wrote {len(report.recordings)} recording(s), e.g. {report.recordings[0]}")
    return lines

