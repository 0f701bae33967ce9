"""What an audited or re-judged run adds to its run record (pure: works on the record's test dicts).

* ``judge_audits``: one summary per audited criterion (from the tests that carry ``judge_audit`` data);
* every judge verdict (metrics of scorer ``judge`` and judge-based ``grounding``) of an audited criterion is
  tagged ``details.audit = {kappa, kappa_ci, min_kappa, passed, audit_test}``;
* ``judge_pass_rates``: per audited criterion with binary audit counts, the pass rate of the run's own judge
  verdicts (audit tests excluded) and its Rogan-Gladen correction (:mod:`.correction`);
* ``rejudge``: with ``--llmops-rejudge``, which verdicts were re-judged and by what; each re-judged metric
  carries ``details.rejudged = {"judge_model": ...}``.
"""

from __future__ import annotations

from typing import Any

from .correction import corrected_pass_rate
from .text import criteria_slug


def _judge_metrics(test: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in test.get("metrics") or [] if m.get("scorer") == "judge" or (
        m.get("scorer") == "grounding" and (m.get("details") or {}).get("method") == "judge")]


def _slug_of(metric: dict[str, Any]) -> str | None:
    name = str(metric.get("name", ""))
    return name.partition(":")[2] or None if ":" in name else None


def audits_of(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every criterion audit of the run, with the nodeid of its audit test."""
    audits = []
    for test in tests:
        for result in (test.get("judge_audit") or {}).get("results") or []:
            audits.append({**{k: v for k, v in result.items() if k != "verdicts"}, "audit_test": test["nodeid"],
                           "labels": (test.get("judge_audit") or {}).get("labels")})
    return audits


def _tag(tests: list[dict[str, Any]], audits: dict[str, dict[str, Any]]) -> None:
    for test in tests:
        for metric in _judge_metrics(test):
            audit = audits.get(_slug_of(metric) or "")
            if audit is None:
                continue
            details = metric.setdefault("details", {})
            details["audit"] = {
                "kappa": (audit.get("agreement") or {}).get("kappa"),
                "kappa_ci": (audit.get("agreement") or {}).get("kappa_ci"),
                "min_kappa": audit.get("min_kappa"), "passed": audit.get("passed"), "audit_test": audit["audit_test"],
            }


def _pass_rates(tests: list[dict[str, Any]], audits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rates = []
    for slug, audit in audits.items():
        counts = audit.get("binary")
        if not counts:
            continue
        verdicts = [m for t in tests if not t.get("judge_audit") for m in _judge_metrics(t)
                    if _slug_of(m) == slug and m.get("name", "").startswith("judge:")]
        if not verdicts:
            continue
        threshold = audit.get("pass_score")
        passed = sum(bool(m["passed"]) if m.get("passed") is not None
                     else threshold is not None and round(float(m["value"]), 6) >= threshold for m in verdicts)
        rate = corrected_pass_rate(passed, len(verdicts), counts)
        rates.append({"criterion": audit["criterion"], "slug": slug, "audit_test": audit["audit_test"],
                      "pass_score": threshold, **rate})
    return rates


def rejudge_summary(tests: list[dict[str, Any]], judge_model: str | None) -> dict[str, Any]:
    """Tag every judge verdict of a re-judged run and summarize which were re-judged by what."""
    count, where, models = 0, [], set()
    for test in tests:
        metrics = _judge_metrics(test)
        for metric in metrics:
            model = (metric.get("details") or {}).get("judge_model") or judge_model
            metric.setdefault("details", {})["rejudged"] = {"judge_model": model}
            models.add(str(model))
        if metrics:
            count += len(metrics)
            where.append(test["nodeid"])
    return {"judge_model": judge_model, "models": sorted(models), "verdicts": count, "tests": where,
            "judge_calls": "live, not recorded; the app's calls replayed from its recordings"}


def record_fields(tests: list[dict[str, Any]], *, rejudge_model: str | None = None,
                  rejudge: bool = False) -> dict[str, Any]:
    """The run record's judge fields; tags the tests' judge metrics in place."""
    fields: dict[str, Any] = {}
    if rejudge:
        fields["rejudge"] = rejudge_summary(tests, rejudge_model)
    audits = audits_of(tests)
    if audits:
        by_slug = {a["slug"] or criteria_slug(a["criterion"]): a for a in audits}
        _tag(tests, by_slug)
        fields["judge_audits"] = audits
        fields["judge_pass_rates"] = _pass_rates(tests, by_slug)
    return fields
