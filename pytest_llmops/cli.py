"""The ``pytest-llmops`` command: validate, schema, show, diff, merge, html, prompts, recordings."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import LlmopsError


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


def _cmd_prompts(args: argparse.Namespace) -> int:
    from .assets.prompts import PromptRegistry

    registry = PromptRegistry(Path(args.dir))
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
        print("usage: pytest-llmops prompts show NAME[@VERSION]", file=sys.stderr)
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

    p = sub.add_parser("prompts", help="list prompt versions and hashes, or show one")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("ref", nargs="?", help="NAME[@VERSION] for show")
    p.add_argument("--dir", default="prompts", help="prompt directory (default: ./prompts)")
    p.set_defaults(func=_cmd_prompts)

    p = sub.add_parser("recordings", help="list or delete recordings no test used")
    p.add_argument("action", choices=["unused", "prune"])
    p.add_argument("--report", required=True,
                   help="run record of a complete run (pytest --llmops-report); its unused_recordings are used")
    p.set_defaults(func=_cmd_recordings)

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
