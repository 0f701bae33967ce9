"""``pytest-llmops judge-audit LABELS --judge-model M``: audit a judge on a label file from the command line.

The judge's calls go through a :class:`~pytest_llmops.calls.engine.CallEngine`: live by default (record mode
``off``), or recorded and replayed with ``--recordings DIR --record-mode once|none``; they are metered and the
totals printed.  Exit status 0 when every audited criterion passes the gate, 1 when one does not, 2 on errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("judge-audit", help="audit an LLM judge against a human label file (kappa, bias probes)")
    p.add_argument("labels", help="label file (.jsonl, .yaml, .csv)")
    p.add_argument("--judge-model", required=True, help="litellm model string of the judge")
    p.add_argument("--api-base", default=None, help="api_base of the judge's endpoint")
    p.add_argument("--criteria", action="append", default=None, help="audit only this criterion (repeatable)")
    p.add_argument("--tags", action="append", default=None, help="audit only items with this tag (repeatable)")
    p.add_argument("--min-kappa", type=float, default=0.6, help="gate: lower bound of kappa's interval (0.6)")
    p.add_argument("--pass-score", type=float, default=None, help="score that counts as a pass (scale midpoint)")
    p.add_argument("--retest", type=int, default=1, help="judge every item N times (test-retest probe)")
    p.add_argument("--samples", type=int, default=1, help="judge samples per verdict without logprobs (1)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    p.add_argument("--recordings", default=None, help="cassette directory for the judge's calls")
    p.add_argument("--record-mode", default="off", choices=["none", "once", "new_episodes", "all", "off"])
    p.add_argument("--json", dest="json_out", default=None, help="write the audit as JSON to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...assets.labels import load_labels
    from ...calls.client import LLM
    from ...calls.engine import CallEngine, CallSettings
    from ...record.recorder import TestRecorder
    from .audit import AuditSettings, audit_criterion, audit_table
    from .core import Judge

    labels = load_labels(Path(args.labels))
    cassettes = Path(args.recordings) if args.recordings else Path("recordings")
    engine = CallEngine(CallSettings(record_mode=args.record_mode, recordings_dir=cassettes,
                                     default_model=args.judge_model))
    recorder = TestRecorder("judge-audit")
    engine.begin_test(f"judge-audit::{labels.path.name}", recorder, cassettes / f"judge-audit-{labels.path.stem}.json")
    params = {"api_base": args.api_base} if args.api_base else {}
    judge = Judge(LLM(engine, model=args.judge_model, **params), samples=args.samples,
                  temperature=1.0 if args.samples > 1 else 0.0)
    settings = AuditSettings(min_kappa=args.min_kappa, pass_score=args.pass_score, retest=args.retest,
                             seed=args.seed)
    try:
        selected = labels.select(args.criteria, args.tags)
        results = [audit_criterion(judge, c, items, settings) for c, items in selected.items()]
    finally:
        engine.end_test()
        engine.close()
    print(audit_table(results))
    calls = recorder.calls
    live = sum(not c.get("cached") for c in calls)
    cost = sum(float(c.get("cost_usd") or 0.0) for c in calls)
    print(f"\n{len(calls)} judge call(s): {live} live, {len(calls) - live} replayed; ${cost:.6f}", file=sys.stderr)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1
