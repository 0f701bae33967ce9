"""The ``pytest-llmops`` command: validate, schema, show, diff, merge, html, prompts, recordings, init, goldens,
shadow."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .errors import LlmopsError

if TYPE_CHECKING:
    from .assets.promotion import Evidence
    from .assets.prompts import PromptRegistry, PromptVersion


def _cmd_validate(args: argparse.Namespace) -> int:
    from .record.io import read_json, validate_data

    status = 0
    for path in args.reports:
        try:
            validate_data(read_json(Path(path)), Path(path))
        except LlmopsError as exc:
            print(f"invalid: {exc}", file=sys.stderr)
            status = 1
        else:
            print(f"valid: {path}")
    return status


def _cmd_schema(args: argparse.Namespace) -> int:
    from .record.models import json_schema

    text = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


PROMOTE_FAIL_ON = "regression,flip"  # a promotion gate: an unconfirmed passed -> failed flip also refuses


def _promotion_evidence(args: argparse.Namespace, version: PromptVersion) -> Evidence:
    """The evidence record's verdict on ``version``, with the regressions of its diff against the baseline."""
    from .assets.promotion import collect_evidence, file_digest
    from .review.load import load_review_record

    record = load_review_record(args.evidence)
    evidence = collect_evidence(version, record.tests, args.evidence, file_digest(args.evidence))
    evidence.interrupted = bool(record.meta.run.interrupted)
    if args.baseline:
        from .review.diff import diff_records
        from .review.failon import failing_reasons, options_for_rules, parse_fail_on
        from .review.options import DiffOptions

        rules = parse_fail_on(args.fail_on, default=PROMOTE_FAIL_ON)
        result = diff_records(load_review_record(args.baseline), record, options_for_rules(rules, DiffOptions()))
        evidence.regressions = failing_reasons(rules, result)
        evidence.baseline_sha256 = file_digest(args.baseline)
        evidence.fail_on = ",".join(rule.text() for rule in rules)
    return evidence


def _cmd_prompt_change(args: argparse.Namespace, registry: PromptRegistry) -> int:
    """``prompts promote NAME VERSION --evidence RECORD`` and ``prompts rollback NAME``."""
    from .assets.promotion import PromotionRefused, promote, rollback

    try:
        if args.action == "rollback":
            entry = rollback(registry, args.ref)
        else:
            if not args.version or not args.evidence:
                print("usage: pytest-llmops prompts promote NAME VERSION --evidence RECORD [--baseline RECORD]",
                      file=sys.stderr)
                return 2
            if args.fail_on and not args.baseline:
                print("--fail-on needs --baseline: the rules judge the diff against it", file=sys.stderr)
                return 2
            version = registry.get(args.ref, args.version)
            entry = promote(registry, args.ref, args.version, _promotion_evidence(args, version))
    except PromotionRefused as exc:
        print(f"pytest-llmops: {exc}", file=sys.stderr)
        return 1
    verb = "promoted" if entry["action"] == "promote" else "rolled back"
    print(f"{verb} {args.ref}: current is now {entry['version']} (was {entry['previous']}); hash {entry['hash'][:16]}")
    return 0


def _cmd_prompts(args: argparse.Namespace) -> int:
    from .assets.prompts import PromptRegistry

    registry = PromptRegistry(Path(args.dir))
    if args.action in ("promote", "rollback") and args.ref:
        return _cmd_prompt_change(args, registry)
    if args.action == "history" and args.ref:
        for entry in registry.promotions(args.ref):
            print(json.dumps(entry, sort_keys=True))
        return 0
    if args.action == "list":
        names = registry.names()
        if not names:
            print(f"no prompts under {args.dir}")
        for name in names:
            current = registry.get(name)
            for version in registry.versions(name):
                pv = registry.get(name, version)
                flag = " (current)" if version == current.version else ""
                print(f"{name}@{version}  {pv.hash[:16]}{flag}")
        return 0
    if not args.ref:
        print(f"usage: pytest-llmops prompts {args.action} NAME" + ("[@VERSION]" if args.action == "show" else ""),
              file=sys.stderr)
        return 2
    name, _, version = args.ref.partition("@")
    pv = registry.get(name, version or None)
    print(f"{pv.name}@{pv.version}  hash {pv.hash}")
    if pv.description:
        print(f"description: {pv.description}")
    if pv.model or pv.params:
        print(f"model: {pv.model}  params: {json.dumps(pv.params, sort_keys=True)}")
    for message in pv.messages:
        print(f"--- {message['role']}\n{message['content']}")
    return 0


def _cmd_recordings(args: argparse.Namespace) -> int:
    """Unused recordings as the run record of a complete run lists them (its ``unused_recordings``)."""
    from .record.io import load_record

    report = load_record(Path(args.report))
    if report.run.interrupted:
        print(f"{args.report} is from an interrupted run; refusing to decide what is unused", file=sys.stderr)
        return 2
    files = [u for u in report.unused_recordings if "#" not in u]
    entries = [u for u in report.unused_recordings if "#" in u]
    for item in report.unused_recordings:
        print(item)
    if args.action == "prune":
        from .calls.cassette import drop_entries

        for path in files:
            Path(path).unlink(missing_ok=True)
        for item in entries:
            name, _, key = item.partition("#")
            if Path(name).exists():
                drop_entries(Path(name), [key])
    verb = "deleted" if args.action == "prune" else "unused"
    print(f"{len(files)} recording file(s) and {len(entries)} entr(y/ies) {verb}", file=sys.stderr)
    return 0


def _cmd_shadow(args: argparse.Namespace) -> int:
    """The paired verdict of each shadow test in a run record (``scorers.shadow`` metrics)."""
    from .review.load import load_review_record
    from .review.shadow import describe, shadow_verdicts

    verdicts = shadow_verdicts(load_review_record(args.report).tests, alpha=args.alpha)
    if not verdicts:
        print(f"{args.report}: no test recorded shadow_preference or shadow_similarity (see scorers.shadow)")
    for verdict in verdicts:
        print("\n".join(describe(verdict)))
    return 1 if args.fail_worse and any(v.verdict == "worse" for v in verdicts) else 0


def _cmd_init(args: argparse.Namespace) -> int:
    from .scaffold import next_steps, scaffold

    for path in scaffold(Path(args.dir), model=args.model):
        print(f"created {path}")
    print(next_steps(args.dir))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-llmops",
        description="Work with pytest-llmops run records, prompts and recordings.",
    )
    parser.add_argument("--version", action="version", version=f"pytest-llmops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check run record files against the shipped JSON Schema")
    p.add_argument("reports", nargs="+", metavar="REPORT")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("schema", help="print the run record JSON Schema")
    p.add_argument("-o", "--output")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("prompts", help="list prompt versions and hashes, show one, promote or roll back a version")
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "history"])
    p.add_argument("ref", nargs="?", help="NAME[@VERSION] for show; NAME for promote, rollback and history")
    p.add_argument("version", nargs="?", help="VERSION for promote")
    p.add_argument("--dir", default="prompts", help="prompt directory (default: ./prompts)")
    p.add_argument("--evidence", metavar="RECORD", help="promote: run record in which the version's tests passed")
    p.add_argument("--baseline", metavar="RECORD", help="promote: run record the evidence must not regress from")
    p.add_argument("--fail-on", metavar="RULES",
                   help=f"promote: what in the baseline diff refuses it (default: {PROMOTE_FAIL_ON})")
    p.set_defaults(func=_cmd_prompts)

    p = sub.add_parser("recordings", help="list or delete recordings no test used")
    p.add_argument("action", choices=["unused", "prune"])
    p.add_argument("--report", required=True,
                   help="run record of a complete run (pytest --llmops-report); its unused_recordings are used")
    p.set_defaults(func=_cmd_recordings)

    p = sub.add_parser("init", help="scaffold prompts/, goldens/, a conftest, a first test and a CI workflow")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="project directory (default: .)")
    p.add_argument("--model", default="openai/gpt-4o-mini", help="litellm model string of the starter prompt")
    p.set_defaults(func=_cmd_init)

    from .scorers.judge import audit_command

    audit_command.register(sub)

    p = sub.add_parser("shadow", help="paired verdict of shadow tests: candidate vs production answers, per case")
    p.add_argument("report", metavar="REPORT", help="run record of the shadow tests (pytest --llmops-report)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level of the sign test (0.05)")
    p.add_argument("--fail-worse", action="store_true", help="exit 1 when a candidate is significantly worse")
    p.set_defaults(func=_cmd_shadow)

    from .production import cli as production_cli

    production_cli.register(sub)

    try:
        from .review import cli as review_cli
    except ImportError:
        review_cli = None
    if review_cli is not None:
        review_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LlmopsError as exc:
        print(f"pytest-llmops: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
