"""pytest glue for ``@pytest.mark.judge_audit``: after the test body, audit the test's judge on a label file.

The judge is the test's ``judge`` fixture (override it in a conftest or module to audit a configured judge),
so the audit's calls go through the call layer like any other: recorded, replayed, metered into this test.
The results ride on the test's record (``judge_audit``); :mod:`pytest_llmops.scorers.judge.record_fields`
turns them into the run record's ``judge_audits`` and ``judge_pass_rates`` and tags the run's judge verdicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..common.numbers import is_finite
from ..errors import ConfigError
from ..record.recorder import current_test, record_metric
from .state import RunState

_NUMBERS = {"min_kappa": (-1.0, 1.0), "confidence": (0.5, 0.999), "pass_score": (-1e9, 1e9)}
_INTEGERS = {"retest": 1, "n_resamples": 100, "seed": 0}


def check_audit_marker(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """ConfigError for bad ``@pytest.mark.judge_audit`` arguments."""
    if not isinstance(args[0], (str, Path)) or not str(args[0]).strip():
        raise ConfigError(f"@pytest.mark.judge_audit label file {args[0]!r}: expected a path (a string)")
    for key, (low, high) in _NUMBERS.items():
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not is_finite(value) or not low <= value <= high):
            raise ConfigError(f"@pytest.mark.judge_audit {key}={value!r}: expected a number in [{low:g}, {high:g}]")
    for key, low in _INTEGERS.items():
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ConfigError(f"@pytest.mark.judge_audit {key}={value!r}: expected an integer >= {low}")
    for key in ("criteria", "tags"):
        value = kwargs.get(key)
        if value is not None and not (isinstance(value, str) or (
                isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value))):
            raise ConfigError(f"@pytest.mark.judge_audit {key}={value!r}: expected a string or a list of strings")


def _label_path(state: RunState, item: pytest.Item, value: str) -> Path:
    for base in (Path(item.path).parent, state.rootpath):
        candidate = base / value
        if candidate.is_file():
            return candidate
    raise ConfigError(f"@pytest.mark.judge_audit: label file {value!r} not found next to {item.path} "
                      f"or under the rootdir {state.rootpath}")


def run_audit(state: RunState, item: pytest.Item) -> None:
    """Audit the judge of ``item`` on its marker's label file; fail the test below ``min_kappa``."""
    from ..assets.labels import load_labels
    from ..scorers.judge.audit import AuditSettings, audit_criterion, audit_table

    mark = item.get_closest_marker("judge_audit")
    assert mark is not None
    options = {k: v for k, v in mark.kwargs.items() if k not in ("criteria", "tags") and v is not None}
    settings = AuditSettings(**options)
    labels = load_labels(_label_path(state, item, str(mark.args[0])))
    judge = item._request.getfixturevalue("judge")  # type: ignore[attr-defined]
    results = [audit_criterion(judge, criterion, items, settings)
               for criterion, items in labels.select(mark.kwargs.get("criteria"), mark.kwargs.get("tags")).items()]
    rec = current_test()
    if rec is not None:
        rec.extra["judge_audit"] = {
            "labels": {"path": _rel(state, labels.path), "hash": labels.hash, "items": len(labels),
                       "labellers": labels.labellers()},
            "results": [r.to_dict() for r in results],
        }
    for result in results:
        details = {"kappa_ci": (result.agreement or {}).get("kappa_ci"), "judge_model": result.judge_model}
        if result.kappa is not None:
            record_metric(f"judge_kappa:{result.slug}", result.kappa, scorer="judge_audit", details=details)
            record_metric(f"judge_kappa_low:{result.slug}", result.ci_low, min=settings.min_kappa,
                          scorer="judge_audit", details=details)
    table = audit_table(results)
    if rec is not None:
        rec.note("judge audit:\n" + table)
    failed = [r for r in results if not r.passed]
    if failed:
        pytest.fail(f"judge audit: the lower bound of kappa's {settings.confidence:.0%} interval is below "
                    f"min_kappa {settings.min_kappa:g} for {len(failed)} of {len(results)} criteria "
                    f"(judge {results[0].judge_model}):\n{table}", pytrace=False)


def _rel(state: RunState, path: Path) -> str:
    try:
        return path.resolve().relative_to(state.rootpath.resolve()).as_posix()
    except ValueError:
        return str(path)


def record_fields(state: RunState, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """The run record's judge-audit and re-judge fields (empty when the run has neither)."""
    rejudge = bool(state.option("rejudge"))
    if not rejudge and not any(t.get("judge_audit") for t in tests):
        return {}
    from ..scorers.judge.record_fields import record_fields as build

    return build(tests, rejudge=rejudge, rejudge_model=state.option("judge_model"))
