"""Subcommands ``diff``, ``merge``, ``html``, ``show`` and ``calibrate`` of the ``pytest-llmops`` command.

The main CLI wires each as ``add_<name>_arguments(subparser)`` + ``cmd_<name>(args) -> exit code``, or all at
once with :func:`register`.  Exit codes: 0 fine, 1 the ``--fail-on`` rules say fail, 2 bad input (unreadable
or invalid record, bad option) with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import LlmopsError
from . import cli_runs as _cli_runs
from .calibrate_cli import add_calibrate_arguments, cmd_calibrate

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


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


def _percent(value: str) -> float:
    text = value.strip().rstrip("%")
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a percentage (e.g. 20 or 20%)") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be >= 0")
    return number


def _alpha(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 0 and 1 (exclusive)")
    return number


def _add_threshold_arguments(parser: argparse.ArgumentParser) -> None:
    from .options import DiffOptions

    d = DiffOptions()
    parser.add_argument("--alpha", type=_alpha, default=d.alpha,
                        help=f"significance level of the one-sided tests (default {d.alpha})")
    parser.add_argument("--cost-threshold", type=_percent, default=d.cost_pct, metavar="PCT",
                        help="cost increase that counts as a regression, run total or per test "
                             f"(default {d.cost_pct:g}%%)")
    parser.add_argument("--tokens-threshold", type=_percent, default=d.tokens_pct, metavar="PCT",
                        help=f"token increase that counts as a regression (default {d.tokens_pct:g}%%)")
    parser.add_argument("--latency-threshold", type=_percent, default=d.latency_pct, metavar="PCT",
                        help=f"p95 latency increase that counts as a regression (default {d.latency_pct:g}%%)")
    parser.add_argument("--no-per-test-cost", action="store_true",
                        help="compare cost and tokens of the run total only, not of each test")
    parser.add_argument("--prompt-edits", choices=("regression", "info"), default="regression",
                        help="a prompt whose content changed without a version bump: regression (default) or info")
    parser.add_argument("--correction", choices=("fdr", "by", "holm", "none"), default=d.correction,
                        help="multiplicity correction over all statistical comparisons of the diff: fdr "
                             "(Benjamini–Hochberg, default), by (Benjamini–Yekutieli, any dependence), holm "
                             "(family-wise error), none")
    parser.add_argument("--min-effect", type=_alpha, default=d.min_effect, metavar="DROP",
                        help="practical threshold: a comparison that cannot detect a pass-rate drop of DROP (or a "
                             "metric drop of DROP × its base mean) with 80%% power is reported inconclusive "
                             f"(default {d.min_effect:g})")
    parser.add_argument("--history", nargs="+", action="extend", default=None, metavar="DIR",
                        help="nightly run records (files or directories) whose run-to-run variation is the noise "
                             "model: a drop counts as a regression only when it also exceeds what the series shows")
    parser.add_argument("--fail-on", default=None, metavar="RULES",
                        help="comma-separated: regression | flip | none | metric:NAME:ABS | metric:NAME:PCT%% | "
                             "cost:PCT%% | "
                             "tokens:PCT%% | latency:PCT%% (default: none)")


def _options(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from .failon import options_for_rules, parse_fail_on
    from .history_review import load_history
    from .options import DiffOptions

    rules = parse_fail_on(getattr(args, "fail_on", None), default="none")
    history = tuple(args.history or ())
    options = DiffOptions(alpha=args.alpha, cost_pct=args.cost_threshold, tokens_pct=args.tokens_threshold,
                          latency_pct=args.latency_threshold, per_test_cost=not args.no_per_test_cost,
                          prompt_edit_is_regression=args.prompt_edits == "regression", correction=args.correction,
                          min_effect=args.min_effect, history=load_history(history) if history else None,
                          history_sources=history)
    return options_for_rules(rules, options), rules


# -- diff ------------------------------------------------------------------------------------------------------


def add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="run record of the base (e.g. main branch) run")
    parser.add_argument("head", help="run record of the head (e.g. pull request) run")
    parser.add_argument("--format", choices=("markdown", "text", "json"), default="markdown",
                        help="markdown: PR comment (default); text: terminal; json: every finding")
    parser.add_argument("-o", "--output", default=None, metavar="PATH", help="write here instead of stdout")
    parser.add_argument("--html", default=None, metavar="PATH", help="also write the self-contained HTML report")
    parser.add_argument("--max-chars", type=int, default=None, metavar="N",
                        help="markdown size limit (default 65000, GitHub's comment limit is 65536)")
    _add_threshold_arguments(parser)


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff_records
    from .failon import failing_reasons
    from .load import load_review_record
    from .markdown import MAX_CHARS, render_markdown, render_text

    try:
        options, rules = _options(args)
        base, head = load_review_record(args.base), load_review_record(args.head)
        result = diff_records(base, head, options, base_label=args.base, head_label=args.head)
        if args.format == "markdown":
            text = render_markdown(result, max_chars=args.max_chars or MAX_CHARS)
        elif args.format == "json":
            text = json.dumps(result.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        else:
            text = render_text(result)
        _write(text, args.output)
        if args.html:
            from .html import render_html

            _write(render_html(base, head, result), args.html)
    except (LlmopsError, OSError) as exc:
        return _error("diff", exc)
    reasons = failing_reasons(rules, result)
    for reason in reasons:
        sys.stderr.write(f"pytest-llmops diff: {reason}\n")
    return EXIT_FAIL if reasons else EXIT_OK


# -- html ------------------------------------------------------------------------------------------------------


def add_html_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("records", nargs="+", metavar="RECORD",
                        help="HEAD (with --baseline BASE, or alone for a one-run report), or BASE HEAD")
    parser.add_argument("--baseline", metavar="BASE", help="run record of the base run to compare with")
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="the HTML file to write")
    _add_threshold_arguments(parser)


def cmd_html(args: argparse.Namespace) -> int:
    from .diff import diff_records
    from .html import render_html
    from .load import load_review_record

    try:
        options, _ = _options(args)
        if len(args.records) > 2 or (args.baseline and len(args.records) != 1):
            raise ValueError("give HEAD --baseline BASE, BASE HEAD, or HEAD alone")
        if args.baseline:
            base_path, head_path = args.baseline, args.records[0]
        elif len(args.records) == 2:
            base_path, head_path = args.records
        else:
            base_path = head_path = args.records[0]  # a one-run report: nothing to compare, everything to show
        base, head = load_review_record(base_path), load_review_record(head_path)
        result = diff_records(base, head, options, base_label=base_path, head_label=head_path)
        _write(render_html(base, head, result), args.output)
    except (LlmopsError, OSError, ValueError) as exc:
        return _error("html", exc)
    return EXIT_OK


# -- merge -----------------------------------------------------------------------------------------------------


def add_merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", help="shard run records of one run")
    parser.add_argument("-o", "--output", required=True, metavar="PATH", help="the merged record to write")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="merge shards even if they were run on different git commits")


def cmd_merge(args: argparse.Namespace) -> int:
    from ..record.io import load_record, write_json_atomic
    from .merge import merge

    try:
        records = [load_record(Path(p)) for p in args.shards]
        merged = merge(records, sources=[str(p) for p in args.shards], allow_mixed=args.allow_mixed)
        write_json_atomic(Path(args.output), merged)
    except (LlmopsError, OSError) as exc:
        return _error("merge", exc)
    sys.stderr.write(f"merged {len(args.shards)} record(s), {len(merged['tests'])} tests -> {args.output}\n")
    return EXIT_OK


# -- show ------------------------------------------------------------------------------------------------------


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record", help="a run record")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("-o", "--output", default=None, metavar="PATH", help="write here instead of stdout")


def cmd_show(args: argparse.Namespace) -> int:
    from .load import load_review_record
    from .markdown import render_run_markdown, render_run_text

    try:
        record = load_review_record(args.record)
        text = render_run_markdown(record) if args.format == "markdown" else render_run_text(record)
        _write(text, args.output)
    except (LlmopsError, OSError) as exc:
        return _error("show", exc)
    return EXIT_OK


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "diff": ("compare two run records (base → head) and report regressions", add_diff_arguments, cmd_diff),
    "merge": ("merge shard records of one run into one record", add_merge_arguments, cmd_merge),
    "html": ("write a self-contained HTML report comparing two run records", add_html_arguments, cmd_html),
    "show": ("summarize one run record", add_show_arguments, cmd_show),
    "calibrate": ("recommend sampling n / min_pass_rate and golden-set thresholds from N >= 2 records of one suite",
                  add_calibrate_arguments, cmd_calibrate),
}
COMMANDS.update(_cli_runs.COMMANDS)  # history, baseline, export


def register(subparsers: Any) -> None:
    """Add the subcommands to an ``argparse`` subparsers object; each sets ``func`` to its cmd_*."""
    for name, (help_text, add, run) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        add(sub)
        sub.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m pytest_llmops.review.cli diff a.json b.json``) until the main CLI wires it."""
    parser = argparse.ArgumentParser(prog="pytest-llmops")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
