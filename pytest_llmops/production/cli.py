"""``pytest-llmops goldens import SOURCE... -o goldens/prod.jsonl``: production traces become golden cases."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .importer import ImportOptions

SOURCE_KINDS = ("auto", "otel", "record", "jsonl")


def _time(text: str | None, flag: str) -> datetime | None:
    from ..assets.traces.otel import parse_time

    if text is None:
        return None
    parsed = parse_time(text)
    if parsed is None:
        raise ConfigError(f"{flag} {text!r}: write an ISO 8601 time, e.g. 2026-12-01 or 2026-12-01T08:00:00Z")
    return parsed


def options_from(args: argparse.Namespace) -> ImportOptions:
    from ..assets.traces.logs import parse_mapping
    from ..assets.traces.select import TraceFilter
    from .importer import ImportOptions

    if args.sample is not None and args.sample < 1:
        raise ConfigError(f"--sample {args.sample}: expected a number of cases >= 1")
    if not 0.0 < args.dedup <= 1.0:
        raise ConfigError(f"--dedup {args.dedup}: expected a Jaccard similarity in (0, 1]")
    rule = TraceFilter(
        feedback=tuple(v for item in args.feedback or [] for v in item.split(",") if v),
        feedback_key=args.feedback_key, tags=tuple(args.tag or []), tags_key=args.tags_key,
        since=_time(args.since, "--since"), until=_time(args.until, "--until"),
    )
    return ImportOptions(
        kind=args.source_format, mapping=parse_mapping(args.map), outcomes=tuple(args.outcome.split(",")),
        filter=rule, sample=args.sample, seed=args.seed, redact=not args.no_redact,
        dedup_threshold=None if args.no_dedup else args.dedup, prefix=args.id_prefix,
        recordings_for=args.recordings_for, recordings_dir=args.recordings_dir, rootdir=Path.cwd(),
        dry_run=args.dry_run,
    )


def _cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_traces, summary

    options = options_from(args)
    output = Path(args.output)
    report = import_traces([Path(s) for s in args.sources], output, options)
    if args.dry_run:
        for case in report.cases:
            print(json.dumps(case, ensure_ascii=False))
    for line in summary(report, output, options.redact):
        print(line, file=sys.stderr if args.dry_run else sys.stdout)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    goldens = sub.add_parser("goldens", help="work with golden sets: import production traces as cases")
    actions = goldens.add_subparsers(dest="goldens_action", required=True)
    p = actions.add_parser("import", help="production traces (OTel GenAI spans, run records, JSONL logs) as cases")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="OTLP JSON / span JSON lines, run records, logs")
    p.add_argument("-o", "--output", required=True, help="golden file to append to (.jsonl, .json or .yaml)")
    p.add_argument("--source-format", choices=SOURCE_KINDS, default="auto", help="what SOURCE is (default: auto)")
    p.add_argument("--map", action="append", metavar="FIELD=PATH",
                   help="JSONL logs: where a field is, e.g. input=request.question, output=response.text")
    p.add_argument("--outcome", default="failed", help="run records: outcomes to import (default: failed)")
    p.add_argument("--feedback", action="append", metavar="VALUE", help="only conversations with this feedback")
    p.add_argument("--feedback-key", default="user.feedback", help="attribute holding feedback (user.feedback)")
    p.add_argument("--tag", action="append", metavar="TAG", help="only conversations with this tag (repeatable)")
    p.add_argument("--tags-key", default="tags", help="attribute holding the tags (default: tags)")
    p.add_argument("--since", help="only conversations that started at or after this ISO time")
    p.add_argument("--until", help="only conversations that started before this ISO time")
    p.add_argument("--sample", type=int, help="keep a random sample of N conversations")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default: 0)")
    p.add_argument("--no-redact", action="store_true", help="keep PII (redaction is on by default)")
    p.add_argument("--dedup", type=float, default=0.9, help="near-duplicate word Jaccard threshold (0.9)")
    p.add_argument("--no-dedup", action="store_true", help="keep near-duplicate conversations")
    p.add_argument("--id-prefix", default="prod", help="prefix of the new case ids (default: prod)")
    p.add_argument("--recordings-for", metavar="TEST",
                   help="write each case's calls as the recording of TEST[case] (path/test_x.py::test_fn)")
    p.add_argument("--recordings-dir", help="the llmops_recordings_dir of the project, if it sets one")
    p.add_argument("--dry-run", action="store_true", help="print the cases instead of writing anything")
    p.set_defaults(func=_cmd_import)
