"""The ``calibrate`` subcommand: read N records, print the recommendations of :mod:`.calibrate`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import LlmopsError
from .calibrate import Calibration, SampledAdvice, calibrate


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 0 and 1 (exclusive)")
    return number


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("records", nargs="+", metavar="RECORD", help="two or more run records of the same suite")
    parser.add_argument("--false-fail", type=_fraction, default=0.01, metavar="RATE",
                        help="target rate of failing an unchanged test by chance (default 0.01)")
    parser.add_argument("--power", type=_fraction, default=0.8, help="power against --drop (default 0.8)")
    parser.add_argument("--drop", type=_fraction, default=0.10,
                        help="pass-rate drop the recommended rule must catch (default 0.10)")
    parser.add_argument("--patch", action="store_true", help="also print the marker changes as a patch-like list")
    parser.add_argument("--allow-mixed-commits", action="store_true",
                        help="accept records of different commits of the suite")
    parser.add_argument("-o", "--output", default=None, metavar="PATH", help="write here instead of stdout")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _rule(n: int | None, rate: float | None) -> str:
    return "—" if n is None or rate is None else f"n={n}, min_pass_rate={rate:g}"


def render(cal: Calibration, patch: bool) -> str:
    lines = [f"calibrated on {cal.records} records: target false-fail rate {_pct(cal.target_false_fail)}, "
             f"power {cal.power:.0%} against a pass-rate drop of {cal.drop:g}", ""]
    if cal.sampled:
        lines.append("sampled tests")
        lines.append("| test | runs | rate | between-run sd | dispersion | now | false-fail now | power now "
                     "| recommended | false-fail | power |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for a in cal.sampled:
            lines.append(f"| {a.nodeid} | {a.runs} | {a.rate:.3f} | {a.between_sd:.3f} | {a.dispersion:.2f} | "
                         f"{_rule(a.current_n, a.current_min_rate)} | {_pct(a.current_false_fail)} | "
                         f"{_pct(a.current_power)} | {_rule(a.n, a.min_pass_rate) if a.n else 'n > 400 needed'} | "
                         f"{_pct(a.false_fail)} | {_pct(a.power)} |")
        lines.append("")
    if cal.groups:
        lines.append("golden groups (thresholds for @pytest.mark.aggregate over the group)")
        lines.append("| golden group | quantity | runs | mean | between-run sd | threshold | detects a drop of |")
        lines.append("|---|---|---|---|---|---|---|")
        for g in cal.groups:
            bound = f"{'min' if g.higher_is_better else 'max'} {g.threshold:.4g}"
            lines.append(f"| {g.key} | {g.quantity} | {g.runs} | {g.mean:.4g} | {g.between_sd:.4g} | {bound} | "
                         f"{g.detectable_drop:.4g} |")
        lines.append("")
    lines.extend(f"warning: {w}" for w in cal.warnings)
    if patch:
        lines.extend(_patch(cal))
    return "\n".join(lines).rstrip() + "\n"


def _patch(cal: Calibration) -> list[str]:
    out = ["", "marker changes:"]
    for a in cal.sampled:
        if _changed(a):
            out.append(f"  {a.nodeid}")
            out.append(f"-     @pytest.mark.sampling(n={a.current_n}, min_pass_rate={a.current_min_rate:g})"
                       if a.current_min_rate is not None else f"-     @pytest.mark.sampling(n={a.current_n})")
            out.append(f"+     @pytest.mark.sampling(n={a.n}, min_pass_rate={a.min_pass_rate:g})")
    for g in cal.groups:
        if g.quantity != "pass rate":
            bound = "min" if g.higher_is_better else "max"
            out.append(f"  {g.key}")
            out.append(f"+     @pytest.mark.aggregate({g.quantity!r}, {bound}={g.threshold:.4g})")
    return out if len(out) > 2 else [*out, "  (none)"]


def _changed(a: SampledAdvice) -> bool:
    return a.n is not None and (a.n != a.current_n or a.min_pass_rate != a.current_min_rate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .load import load_review_record

    try:
        records = [load_review_record(Path(p)) for p in args.records]
        cal = calibrate(records, target_false_fail=args.false_fail, power=args.power, drop=args.drop,
                        allow_mixed=args.allow_mixed_commits)
        text = render(cal, args.patch)
    except (LlmopsError, OSError) as exc:
        sys.stderr.write(f"pytest-llmops calibrate: error: {exc}\n")
        return 2
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0
