"""The ``--fail-on`` grammar: which differences make ``pytest-llmops diff`` (or a baseline run) fail.

Comma-separated rules::

    regression              any regression the diff found (the default of --llmops-baseline)
    flip                    any unconfirmed flip: a single live test (no @sampling) that went passed → failed
    none                    never fail (the default of ``pytest-llmops diff``)
    metric:NAME:0.02        mean of metric NAME over the matched tests got worse by more than 0.02 (absolute)
    metric:NAME:5%          ... by more than 5% of the base mean (relative, like pytest-benchmark)
    cost:10%                spent + replayed cost up more than 10% (run total, or one test's)
    tokens:10%              total tokens up more than 10% (run total, or one test's)
    latency:20%             p95 call latency of the run up more than 20% (recorded latencies for replays)

``NAME`` may itself contain colons (``metric:ns:recall@5:0.02``): the last field is the tolerance.  "Worse"
follows the metric's direction: lower is better for metrics recorded with only a ``max`` bound.  A rule with
a threshold also sets the diff's threshold for that kind, so the same finding appears in the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .diff import DiffResult
    from .options import DiffOptions

GRAMMAR = "regression | flip | none | metric:NAME:ABS | metric:NAME:PCT% | cost:PCT% | tokens:PCT% | latency:PCT%"


@dataclass(frozen=True)
class FailRule:
    kind: str  # regression | flip | none | metric | cost | tokens | latency
    metric: str | None = None
    amount: float | None = None
    relative: bool = False

    def text(self) -> str:
        if self.kind in ("regression", "flip", "none"):
            return self.kind
        amount = f"{self.amount:g}%" if self.relative else f"{self.amount:g}"
        return f"{self.kind}:{self.metric}:{amount}" if self.kind == "metric" else f"{self.kind}:{amount}"


def _number(text: str, rule: str) -> tuple[float, bool]:
    text = text.strip()
    relative = text.endswith("%")
    try:
        value = float(text[:-1] if relative else text)
    except ValueError:
        raise ConfigError(f"--fail-on rule {rule!r}: {text!r} is not a number; expected {GRAMMAR}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"--fail-on rule {rule!r}: the tolerance must be a finite number >= 0")
    return value, relative


def parse_fail_on(text: str | None, default: str = "none") -> list[FailRule]:
    """Parse a comma-separated rule list; raises ConfigError naming the bad rule and the grammar."""
    raw = default if text is None or not str(text).strip() else str(text)
    rules: list[FailRule] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        head, _, rest = part.partition(":")
        head = head.strip().lower()
        if head in ("regression", "regressions", "none") and not rest:
            rules.append(FailRule("regression" if head.startswith("regression") else "none"))
        elif head in ("flip", "flips") and not rest:
            rules.append(FailRule("flip"))
        elif head == "metric":
            name, sep, amount = rest.rpartition(":")
            if not sep or not name.strip() or not amount.strip():
                raise ConfigError(f"--fail-on rule {part!r}: expected metric:NAME:TOLERANCE, e.g. metric:recall@5:0.02 "
                                  "or metric:recall@5:5%")
            value, relative = _number(amount, part)
            rules.append(FailRule("metric", name.strip(), value, relative))
        elif head in ("cost", "tokens", "latency"):
            if not rest.strip().endswith("%"):
                raise ConfigError(f"--fail-on rule {part!r}: write the allowed increase as a percentage, "
                                  f"e.g. {head}:10%")
            value, _ = _number(rest, part)
            rules.append(FailRule(head, None, value, True))
        else:
            raise ConfigError(f"--fail-on: unknown rule {part!r}; expected {GRAMMAR}")
    if len(rules) > 1 and any(r.kind == "none" for r in rules):
        raise ConfigError(f"--fail-on {raw!r}: 'none' cannot be combined with other rules")
    return rules


def options_for_rules(rules: list[FailRule], options: DiffOptions) -> DiffOptions:
    """Thresholds named by the rules become the diff's thresholds (so the report shows what fails)."""
    changes: dict[str, object] = {}
    tolerances = dict(options.metric_tolerances)
    for rule in rules:
        if rule.kind == "metric":
            assert rule.metric is not None and rule.amount is not None
            tolerances[rule.metric] = (rule.amount, rule.relative)
        elif rule.kind in ("cost", "tokens", "latency"):
            changes[f"{rule.kind}_pct"] = rule.amount
    return replace(options, metric_tolerances=tolerances, **changes)  # type: ignore[arg-type]


def failing_reasons(rules: list[FailRule], result: DiffResult) -> list[str]:
    """Why the rules say "fail" (empty list: pass)."""
    reasons: list[str] = []
    for rule in rules:
        if rule.kind == "regression" and result.regressions:
            reasons.append(f"fail-on regression: {len(result.regressions)} regression(s)")
        elif rule.kind == "flip" and result.unconfirmed:
            reasons.append(f"fail-on flip: {len(result.unconfirmed)} unconfirmed flip(s), e.g. "
                           f"{result.unconfirmed[0].subject}")
        elif rule.kind == "metric":
            hits = [f for f in result.regressions if f.kind == "metric-drop" and f.metric == rule.metric]
            if hits:
                reasons.append(f"fail-on {rule.text()}: {hits[0].detail}")
        elif rule.kind in ("cost", "tokens", "latency"):
            hits = [f for f in result.regressions if f.kind == rule.kind]
            if hits:
                reasons.append(f"fail-on {rule.text()}: {len(hits)} finding(s), "
                               f"e.g. {hits[0].subject}: {hits[0].detail}")
    return reasons
