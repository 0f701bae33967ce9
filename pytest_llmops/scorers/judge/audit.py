"""Auditing the judge against human labels: agreement, the humans' own agreement, bias probes, the gate.

:func:`audit_criterion` runs a :class:`~pytest_llmops.scorers.judge.Judge` on the labelled items of one
criterion (through whatever call layer the judge's ``llm`` uses: recorded, replayed, metered) and
:func:`summarize` turns the verdicts into an :class:`AuditResult` (pure: no model calls).

* scores (ordinal): Cohen's kappa, quadratic-weighted, of the judge's rounded score against the humans'
  (median) score; pass/fail: unweighted kappa of judge score >= ``pass_score`` against the human verdict;
  preferences: unweighted kappa over a/b/tie (an order-inconsistent comparison counts as a tie);
* a seeded bootstrap 95% interval of kappa, raw agreement, the confusion matrix (rows: humans);
* with several labellers: Krippendorff's alpha and the mean pairwise kappa among the humans (the ceiling a
  judge can be expected to reach) and alpha with the judge as one more rater;
* bias probes (:mod:`.bias`): position flips, verbosity, test-retest (``retest`` > 1);
* the gate: ``passed`` when the interval's lower bound is >= ``min_kappa``.

Items are any objects with the attributes of :class:`pytest_llmops.assets.labels.LabelItem` (``id``,
``criterion``, ``kind``, ``scale``, ``labels``, ``output``, ``a``, ``b``, ``reference``, ``contexts``,
``consensus()``); this module does not import the asset layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, JudgeError
from . import bias
from .agreement import agreement, krippendorff_alpha, pairwise_kappa
from .correction import sensitivity_specificity
from .text import criteria_slug


@dataclass
class ItemVerdict:
    """The judge's verdict on one labelled item (``judge`` is the label compared with ``human``)."""

    id: str
    human: Any
    humans: dict[str, Any]
    judge: Any = None
    score: float | None = None
    repeats: list[int] = field(default_factory=list)
    orders: tuple[str, str] | None = None
    length: int = 0
    error: str | None = None


@dataclass(frozen=True)
class AuditSettings:
    min_kappa: float = 0.6
    pass_score: float | None = None
    retest: int = 1
    confidence: float = 0.95
    n_resamples: int = 2000
    seed: int = 0


@dataclass
class AuditResult:
    criterion: str
    kind: str
    scale: tuple[int, int] | None
    judge_model: str | None
    settings: AuditSettings
    pass_score: float | None
    verdicts: list[ItemVerdict]
    agreement: dict[str, Any] | None
    humans: dict[str, Any]
    bias: dict[str, Any]
    binary: dict[str, Any] | None
    passed: bool

    @property
    def slug(self) -> str:
        return criteria_slug(self.criterion)

    @property
    def kappa(self) -> float | None:
        return None if self.agreement is None else self.agreement["kappa"]

    @property
    def ci_low(self) -> float | None:
        return None if self.agreement is None else self.agreement["kappa_ci"][0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion, "slug": self.slug, "kind": self.kind,
            "scale": list(self.scale) if self.scale else None, "judge_model": self.judge_model,
            "items": len(self.verdicts), "no_verdict": sum(v.error is not None for v in self.verdicts),
            "min_kappa": self.settings.min_kappa, "passed": self.passed, "pass_score": self.pass_score,
            "retest": self.settings.retest, "seed": self.settings.seed, "n_resamples": self.settings.n_resamples,
            "agreement": self.agreement, "humans": self.humans, "bias": self.bias, "binary": self.binary,
            "verdicts": [
                {"id": v.id, "human": v.human, "judge": v.judge,
                 "score": None if v.score is None else round(v.score, 4),
                 **({"repeats": v.repeats} if len(v.repeats) > 1 else {}),
                 **({"orders": list(v.orders)} if v.orders else {}), **({"error": v.error} if v.error else {})}
                for v in self.verdicts
            ],
        }


def _labels(kind: str, scale: tuple[int, int] | None) -> tuple[list[Any], str | None, str]:
    """(categories, kappa weights, Krippendorff level) of a label kind."""
    if kind == "score" and scale is not None:
        return list(range(scale[0], scale[1] + 1)), "quadratic", "ordinal"
    if kind == "pass_fail":
        return [False, True], None, "nominal"
    return ["a", "b", "tie"], None, "nominal"


def _humans(items: Sequence[Any], verdicts: Sequence[ItemVerdict], labels: list[Any], weights: str | None,
            level: str) -> dict[str, Any]:
    units = [dict(item.labels) for item in items]
    labellers = sorted({name for unit in units for name in unit})
    alpha = krippendorff_alpha(units, labels, level)
    pair = pairwise_kappa(units, labels, weights)
    with_judge = [{**unit, "~judge": v.judge} for unit, v in zip(units, verdicts, strict=True) if v.error is None]
    return {
        "labellers": labellers,
        "multi_labelled_items": sum(len(unit) >= 2 for unit in units),
        "alpha": None if alpha is None else round(alpha, 4),
        "pairwise_kappa": None if pair is None else round(pair, 4),
        "alpha_with_judge": _maybe_round(krippendorff_alpha(with_judge, labels, level)) if alpha is not None else None,
        "level": level,
    }


def _maybe_round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _binary(kind: str, verdicts: Sequence[ItemVerdict], pass_score: float | None) -> dict[str, Any] | None:
    judged = [v for v in verdicts if v.error is None]
    if kind == "pass_fail":
        return sensitivity_specificity([bool(v.human) for v in judged], [bool(v.judge) for v in judged])
    if kind == "score" and pass_score is not None:
        return sensitivity_specificity([v.human >= pass_score for v in judged],
                                       [v.score is not None and round(v.score, 6) >= pass_score for v in judged])
    return None


def summarize(criterion: str, kind: str, scale: tuple[int, int] | None, items: Sequence[Any],
              verdicts: Sequence[ItemVerdict], settings: AuditSettings, judge_model: str | None = None) -> AuditResult:
    """The audit of one criterion from the judge's verdicts on its labelled items (no model calls)."""
    labels, weights, level = _labels(kind, scale)
    judged = [v for v in verdicts if v.error is None]
    agreed = None
    if judged:
        agreed = agreement([v.human for v in judged], [v.judge for v in judged], labels, weights=weights,
                           confidence=settings.confidence, n_resamples=settings.n_resamples,
                           seed=settings.seed).to_dict()
    pass_score = settings.pass_score
    if pass_score is None and kind == "score" and scale is not None:
        pass_score = (scale[0] + scale[1]) / 2
    probes: dict[str, Any] = {}
    if kind == "preference":
        probes["position"] = bias.position_flips([v.orders for v in judged if v.orders])
    else:
        probes["verbosity"] = bias.verbosity([v.length for v in judged], [float(v.score or 0) for v in judged],
                                             [float(v.human) for v in judged])
        probes["retest"] = bias.retest([v.repeats for v in judged], labels)
    passed = agreed is not None and agreed["kappa_ci"][0] is not None and agreed["kappa_ci"][0] >= settings.min_kappa
    return AuditResult(criterion, kind, scale, judge_model, settings, pass_score, list(verdicts), agreed,
                       _humans(items, verdicts, labels, weights, level), probes,
                       _binary(kind, verdicts, pass_score), passed)


def check_items(criterion: str, items: Sequence[Any]) -> tuple[str, tuple[int, int] | None]:
    """The one label kind (and scale) of a criterion's items; ConfigError when they mix."""
    kinds = {item.kind for item in items}
    if len(kinds) != 1:
        raise ConfigError(f"judge audit of {criterion!r}: its items mix label kinds {sorted(kinds)}; "
                          "label one criterion in one way (scores, pass/fail or preferences)")
    kind = kinds.pop()
    scales = {tuple(item.scale) for item in items}
    if kind == "score" and len(scales) != 1:
        raise ConfigError(f"judge audit of {criterion!r}: its items use several scales {sorted(scales)}")
    return kind, scales.pop() if kind == "score" else None


def _judge_item(judge: Any, item: Any, kind: str, settings: AuditSettings, pass_score: float | None) -> ItemVerdict:
    verdict = ItemVerdict(item.id, item.consensus(), dict(item.labels))
    try:
        if kind == "preference":
            comparison = judge.compare(item.a, item.b, criteria=item.criterion)
            verdict.judge = comparison.winner if comparison.winner != "inconsistent" else "tie"
            verdict.orders = tuple(comparison.verdicts)
            verdict.length = len(item.a) + len(item.b)
            return verdict
        low, high = item.scale
        for _ in range(settings.retest):
            judged = judge.check(item.output, criteria=item.criterion, reference=item.reference,
                                 context=item.contexts or None, scale=(low, high))
            verdict.repeats.append(min(high, max(low, int(judged.score + 0.5))))
            if verdict.score is None:
                verdict.score = float(judged.score)
        verdict.length = len(item.output)
        rounded = verdict.repeats[0]
        verdict.judge = rounded if kind == "score" else bool(
            pass_score is not None and round(verdict.score, 6) >= pass_score)
    except JudgeError as exc:
        verdict.error = str(exc)[:300]
    return verdict


def audit_criterion(judge: Any, criterion: str, items: Sequence[Any], settings: AuditSettings) -> AuditResult:
    """Judge every labelled item of ``criterion`` and summarize (a judge without a verdict on an item --
    JudgeError -- leaves it out of the statistics and counts it in ``no_verdict``)."""
    kind, scale = check_items(criterion, items)
    pass_score = settings.pass_score
    if pass_score is None:
        low, high = scale or (items[0].scale if kind == "pass_fail" else (1, 5))
        pass_score = (low + high) / 2
    verdicts = [_judge_item(judge, item, kind, settings, pass_score) for item in items]
    model = getattr(judge, "model", None) or getattr(getattr(judge, "llm", None), "model", None)
    return summarize(criterion, kind, scale, items, verdicts, AuditSettings(**{**settings.__dict__,
                     "pass_score": pass_score}), judge_model=model)


def audit_table(results: Sequence[AuditResult]) -> str:
    """A plain-text table of audit results (one row per criterion), for failure messages and the CLI."""
    rows = [("criterion", "items", "kappa", "95% CI", "raw agr.", "humans α", "flip", "verbosity ρ", "retest",
             "min κ", "gate")]
    for r in results:
        a, h, b = r.agreement or {}, r.humans, r.bias
        position, verbose, again = b.get("position") or {}, b.get("verbosity") or {}, b.get("retest") or {}
        rows.append((
            _clip(r.criterion, 40), str(len(r.verdicts)), _num(a.get("kappa")),
            f"[{_num(a['kappa_ci'][0])}, {_num(a['kappa_ci'][1])}]" if a else "-", _num(a.get("raw_agreement")),
            _num(h.get("alpha")), _num(position.get("flip_rate")), _num(verbose.get("judge_rho")),
            _num(again.get("exact")), f"{r.settings.min_kappa:g}", "pass" if r.passed else "FAIL",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
