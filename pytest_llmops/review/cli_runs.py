"""Subcommands ``history``, ``baseline`` and ``export`` of the ``pytest-llmops`` command.

Registered by :mod:`.cli` (its ``COMMANDS`` table) as ``add_<name>_arguments`` + ``cmd_<name>``.  Exit codes
as there: 0 fine, 2 bad input with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LlmopsError

EXIT_OK, EXIT_INPUT = 0, 2


def _write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")


def _error(command: str, exc: BaseException) -> int:
    sys.stderr.write(f"pytest-llmops {command}: error: {exc}\n")
    return EXIT_INPUT


# -- history ---------------------------------------------------------------------------------------------------


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("records", nargs="+", metavar="RECORD",
                        help="run records, or directories searched for *.json; ordered by run.started_at")
    parser.add_argument("--format", choices=("html", "json"), default="html",
                        help="html: self-contained report (default); json: the same figures for scripts")
    parser.add_argument("-o", "--output", default=None, metavar="PATH",
                        help="write here (required for html; json goes to stdout without it)")


def cmd_history(args: argparse.Namespace) -> int:
    from .history import build_history

    try:
        if args.format == "html" and args.output in (None, "-"):
            raise ValueError("give -o PATH for the HTML report (or --format json)")
        history = build_history(args.records)
        if args.format == "json":
            text = json.dumps(history.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        else:
            from .history_html import render_history_html

            text = render_history_html(history)
        _write(text, args.output)
    except (LlmopsError, OSError, ValueError) as exc:
        return _error("history", exc)
    for note in history.notes:
        sys.stderr.write(f"pytest-llmops history: {note}\n")
    sys.stderr.write(f"pytest-llmops history: {len(history.runs)} runs, {len(history.tests)} tests, "
                     f"{len(history.flaky)} flaky, {sum(len(t.change_points) for t in history.trends)} change point(s)"
                     + (f" -> {args.output}" if args.output not in (None, "-") else "") + "\n")
    return EXIT_OK


# -- baseline --------------------------------------------------------------------------------------------------


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    from .baseline import DEFAULT_DIR

    parser.add_argument("action", choices=("bless", "list", "path"),
                        help="bless: store RECORD as baseline NAME; list: the stored names; path: where NAME is")
    parser.add_argument("record", nargs="?", metavar="RECORD|NAME", help="bless: the run record; path: the name")
    parser.add_argument("--as", dest="name", default=None, metavar="NAME", help="bless: the baseline's name")
    parser.add_argument("--dir", default=str(DEFAULT_DIR), metavar="DIR",
                        help=f"the baselines directory (default {DEFAULT_DIR}, as the plugin's llmops_baselines_dir)")


def cmd_baseline(args: argparse.Namespace) -> int:
    from . import baseline

    try:
        if args.action == "list":
            for name in baseline.names(Path(args.dir)):
                print(name)
            return EXIT_OK
        if not args.record:
            raise ValueError(f"baseline {args.action}: give {'RECORD --as NAME' if args.action == 'bless' else 'NAME'}")
        if args.action == "path":
            path = baseline.baseline_file(Path(args.dir), args.record)
            if not path.is_file():
                raise ValueError(f"no baseline {args.record!r} in {args.dir}")
            print(path)
            return EXIT_OK
        if not args.name:
            raise ValueError("baseline bless: give the name with --as NAME")
        stored = baseline.bless(Path(args.record), args.name, Path(args.dir))
    except (LlmopsError, OSError, ValueError) as exc:
        return _error("baseline", exc)
    sys.stderr.write(f"pytest-llmops baseline: {args.record} blessed as {args.name!r} -> {stored}\n"
                     f"  use it with: pytest --llmops-baseline={args.name}\n")
    return EXIT_OK


# -- export ----------------------------------------------------------------------------------------------------


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", metavar="RECORD", help="a run record")
    parser.add_argument("--format", choices=("openmetrics", "prometheus"), default=None,
                        help="metrics text: openmetrics (OpenMetrics 1.0) or prometheus (text 0.0.4, for "
                             "node-exporter's textfile collector)")
    parser.add_argument("-o", "--output", default=None, metavar="PATH", help="write the metrics here, not stdout")
    parser.add_argument("--label", action="append", default=[], metavar="NAME=VALUE",
                        help="a label added to every metric sample (repeatable), e.g. suite=support-bot")
    parser.add_argument("--per-test", action="store_true", help="also one sampled-pass-rate series per sampled test")
    parser.add_argument("--mlflow", action="store_true", help="log the record as an MLflow run")
    parser.add_argument("--tracking-uri", default=None, metavar="URI",
                        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else MLflow's default)")
    parser.add_argument("--experiment", default=None, metavar="NAME", help="MLflow experiment (default pytest-llmops)")
    parser.add_argument("--run-name", default=None, metavar="NAME", help="MLflow run name (default: llmops <commit>)")
    parser.add_argument("--no-html", action="store_true", help="MLflow: do not attach the HTML report")


def cmd_export(args: argparse.Namespace) -> int:
    from .load import load_review_record

    try:
        if not args.format and not args.mlflow:
            raise ValueError("choose --format openmetrics|prometheus and/or --mlflow")
        record = load_review_record(args.record)
        if args.format:
            from .export_openmetrics import parse_labels, render_metrics

            _write(render_metrics(record, fmt=args.format, labels=parse_labels(args.label), per_test=args.per_test),
                   args.output)
        if args.mlflow:
            from .export_mlflow import DEFAULT_EXPERIMENT, log_run

            run_id = log_run(record, Path(args.record), tracking_uri=args.tracking_uri or os.environ.get(
                "MLFLOW_TRACKING_URI"), experiment=args.experiment or DEFAULT_EXPERIMENT, run_name=args.run_name,
                html=not args.no_html)
            sys.stderr.write(f"pytest-llmops export: logged MLflow run {run_id}\n")
    except (LlmopsError, OSError, ValueError) as exc:
        return _error("export", exc)
    return EXIT_OK


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "history": ("flaky tests and trends with change points across many run records", add_history_arguments,
                cmd_history),
    "baseline": ("store a run record as a named baseline (--llmops-baseline=NAME)", add_baseline_arguments,
                 cmd_baseline),
    "export": ("export a run record: OpenMetrics / Prometheus text, or an MLflow run", add_export_arguments,
               cmd_export),
}


def register(subparsers: Any) -> None:
    for name, (help_text, add, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add(sub)
        sub.set_defaults(func=run)
