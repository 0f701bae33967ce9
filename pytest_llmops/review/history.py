"""History across many runs: per-test flip rates and flaky labels, trends with change points, as one object.

:func:`build_history` reads run records (files or directories, :mod:`.history_load`), orders them by
``run.started_at`` and computes

* per test (:mod:`.history_flaky`): the outcome strip, flip rate with a Wilson interval, level shifts and
  the ``flaky`` / ``borderline`` / ``changed`` / ``stable`` label;
* trends (:mod:`.history_changes`): pass rate, each golden set's pass rate and metric means, cost, tokens
  and p95 latency, each with its change points and the run / commit where the change started.

:meth:`History.to_dict` is the ``--format json`` output; :mod:`.history_html` renders the HTML report and
:mod:`.history_noise` turns a history into a per-test / per-golden-metric noise model for the diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .history_changes import ChangePoint, detect
from .history_flaky import TestHistory, histories_of
from .history_load import RunData, read_runs

KIND = "pytest-llmops-history"
RUN_TRENDS = (
    ("pass_rate", "Pass rate (passed / (passed + failed))", ""),
    ("cost_usd", "Cost per run (spent + replayed), USD", "USD"),
    ("tokens", "Tokens per run", "tokens"),
    ("p95_latency_s", "p95 call latency, seconds", "s"),
)


@dataclass
class Trend:
    key: str
    title: str
    unit: str
    values: list[float | None]
    change_points: list[ChangePoint]
    golden_set: str | None = None
    metric: str | None = None


@dataclass
class History:
    runs: list[RunData]
    trends: list[Trend]
    tests: list[TestHistory]
    notes: list[str] = field(default_factory=list)

    @property
    def flaky(self) -> list[TestHistory]:
        return [t for t in self.tests if t.flaky]

    def trend(self, key: str) -> Trend:
        return next(t for t in self.trends if t.key == key)

    def where(self, index: int) -> dict[str, Any]:
        run = self.runs[index]
        return {"index": index, "run": run.label, "commit": run.commit, "started_at": run.started_at}

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


def _trends(runs: Sequence[RunData]) -> list[Trend]:
    trends = []
    for key, title, unit in RUN_TRENDS:
        values = [getattr(run, key) for run in runs]
        trends.append(Trend(key, title, unit, values, detect(values, relative=key != "pass_rate")))
    golden = sorted({(path, metric) for run in runs for path, metrics in run.golden.items() for metric in metrics})
    for path, metric in golden:
        values = [run.golden.get(path, {}).get(metric) for run in runs]
        trends.append(Trend(f"golden:{path}:{metric}", f"{path}: {metric} (mean over cases)", "", values,
                            detect(values), golden_set=path, metric=metric))
    return trends


def analyze(runs: list[RunData], notes: Iterable[str] = ()) -> History:
    """The history of runs already in time order."""
    return History(runs=runs, trends=_trends(runs), tests=histories_of(runs), notes=list(notes))


def build_history(inputs: Sequence[str | Path]) -> History:
    """Read every run record under ``inputs`` (files or directories) and analyse them in time order."""
    runs, notes = read_runs(inputs)
    return analyze(runs, notes)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _interval(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [round(interval[0], 6), round(interval[1], 6)]


def _to_dict(h: History) -> dict[str, Any]:
    runs = [{"index": i, "label": r.label, "started_at": r.started_at, "commit": r.commit, "branch": r.branch,
             "tests": len(r.tests), "outcomes": dict(sorted(r.outcomes.items())), "passes": r.passes,
             "judged": r.judged, "pass_rate": _round(r.pass_rate), "cost_usd": r.cost_usd, "tokens": r.tokens,
             "p95_latency_s": _round(r.p95_latency_s), "golden": r.golden} for i, r in enumerate(h.runs)]
    trends = [{"key": t.key, "title": t.title, "unit": t.unit, "golden_set": t.golden_set, "metric": t.metric,
               "values": [_round(v) for v in t.values],
               "change_points": [{**h.where(c.index), "before": _round(c.before), "after": _round(c.after),
                                  "change": _round(c.change), "relative": _round(c.relative)}
                                 for c in t.change_points]} for t in h.trends]
    tests = [{"nodeid": t.nodeid, "label": t.label, "strip": t.strip, "judged": t.judged, "flips": t.flips,
              "flip_rate": _round(t.flip_rate), "interval": _interval(t.interval),
              "unexplained_interval": _interval(t.unexplained_interval),
              "level_shifts": [h.where(i) for i in t.shifts], "deterministic": t.deterministic,
              "sampled": t.sampled, "dispersion_p": _round(t.dispersion_p, 8)} for t in h.tests]
    return {
        "kind": KIND,
        "version": 1,
        "summary": {"runs": len(h.runs), "tests": len(h.tests), "flaky": len(h.flaky),
                    "change_points": sum(len(t.change_points) for t in h.trends),
                    "first": h.runs[0].started_at, "last": h.runs[-1].started_at},
        "flaky": [t.nodeid for t in h.flaky],
        "runs": runs,
        "trends": trends,
        "tests": tests,
        "notes": h.notes,
    }
