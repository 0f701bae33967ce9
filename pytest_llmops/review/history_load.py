"""Reading many run records for the history report: only the fields it needs, one compact :class:`RunData` each.

A history reads hundreds or thousands of records, so each file is parsed and checked in one pass by
pydantic-core into a narrow schema (outcome, calls' cost/tokens/latency, metric values, sampling counts,
golden path; everything else is skipped without building Python objects), about twice as fast as
``json.loads``.  The run metadata is validated with the record's own ``RunInfo`` model.  When the fast path
fails for any reason, the file is read the careful way (:func:`~.load.load_review_record`), whose error
names the file and the field.

Inputs are files or directories (searched recursively for ``*.json``; a JSON file in a directory that is not
a run record, e.g. a previous ``history.json``, is skipped).  Runs are ordered by ``run.started_at``.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Optional

from typing_extensions import NotRequired, TypedDict

from ..errors import ReportError
from . import stats
from .load import gc_paused

PASS = frozenset({"passed", "xpassed"})
CODES = {"passed": "P", "xpassed": "P", "failed": "F", "error": "E", "skipped": "S", "xfailed": "X"}
ABSENT = "."


class _Call(TypedDict, total=False):
    total_tokens: Optional[int]
    cost_usd: Optional[float]
    replayed_cost_usd: Optional[float]
    latency_s: Optional[float]
    recorded_latency_s: Optional[float]
    cached: Optional[bool]
    retries: Optional[int]
    error: Any


class _Metric(TypedDict):
    name: str
    value: float


class _Sampling(TypedDict, total=False):
    passes: Optional[int]
    failures: Optional[int]


class _Golden(TypedDict):
    path: str


class _Test(TypedDict):
    nodeid: str
    outcome: Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
    metrics: NotRequired[list[_Metric]]
    calls: NotRequired[list[_Call]]
    sampling: NotRequired[Optional[_Sampling]]
    golden: NotRequired[Optional[_Golden]]


class _Record(TypedDict):
    schema_version: int
    kind: str
    run: dict[str, Any]
    tests: NotRequired[list[_Test]]


for _td in (_Call, _Metric, _Sampling, _Golden, _Test, _Record):
    _td.__pydantic_config__ = {"extra": "ignore"}  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def _adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(_Record)


@dataclass
class TestPoint:
    """One test in one run."""

    __test__ = False

    code: str  # P F E S X (see CODES)
    sampled: tuple[int, int] | None  # (passes, valid samples)
    calls: int
    live_calls: int
    metrics: dict[str, float] | None = None  # mean value per metric name
    golden: str | None = None  # golden set path


@dataclass
class RunData:
    """One run, reduced to what the history shows."""

    label: str
    started_at: str
    timestamp: float
    commit: str | None
    branch: str | None
    outcomes: dict[str, int]
    passes: int
    judged: int
    cost_usd: float | None
    tokens: int
    p95_latency_s: float | None
    golden: dict[str, dict[str, float]]  # golden path -> metric -> mean of its cases' means (+ "pass rate")
    tests: dict[str, TestPoint] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float | None:
        return self.passes / self.judged if self.judged else None


def record_paths(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given; directories searched recursively for ``*.json`` (sorted, deduplicated)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            paths.append(path)
        else:
            raise ReportError(f"{path}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _timestamp(started_at: str, label: str) -> float:
    try:
        moment = _dt.datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"{label}: $.run.started_at: {started_at!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def _is_other_json(path: Path) -> bool:
    """A JSON object that does not claim to be a run record (for directories: skip it)."""
    import json

    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return not isinstance(data, dict) or data.get("kind") != "pytest-llmops-run"


def _parse(path: Path) -> dict[str, Any]:
    from pydantic import ValidationError

    from ..record.io import check_schema_version
    from ..record.models import RunInfo

    try:
        data = _adapter().validate_json(path.read_bytes())
        check_schema_version(data, path)
        if data["kind"] != "pytest-llmops-run":
            raise ValueError("not a run record")
        data["run"] = RunInfo.model_validate(data["run"])
        return data
    except (ValidationError, ValueError, ReportError, KeyError, TypeError):
        from .load import load_review_record

        review = load_review_record(path)  # raises with file:line:col or the field when something is wrong
        return {"run": review.meta.run, "tests": review.tests}


def _add_calls(run: RunData, calls: list[dict[str, Any]], latencies: list[float]) -> int:
    """Add the calls' tokens, cost and latencies to the run; returns how many were live."""
    live = 0
    for call in calls:
        cached = bool(call.get("cached"))
        live += not cached
        run.tokens += call.get("total_tokens") or 0
        if call.get("error") is not None:
            continue
        price = call.get("replayed_cost_usd") if cached else call.get("cost_usd")
        if price is None:
            run.cost_usd = None
        elif run.cost_usd is not None:
            run.cost_usd += price
        latency = call.get("recorded_latency_s") if cached else call.get("latency_s")
        if latency is not None and not call.get("retries"):
            latencies.append(latency)
    return live


def _metric_means(entry: dict[str, Any]) -> dict[str, float] | None:
    values: dict[str, list[float]] = {}
    for m in entry.get("metrics") or ():
        if math.isfinite(m["value"]):
            values.setdefault(m["name"], []).append(m["value"])
    return {name: v[0] if len(v) == 1 else math.fsum(v) / len(v) for name, v in values.items()} or None


def _add_golden(entry: dict[str, Any], means: dict[str, float] | None,
                golden: dict[str, dict[str, list[float]]]) -> None:
    metrics = golden.setdefault(entry["golden"]["path"], {})
    if entry["outcome"] in PASS or entry["outcome"] == "failed":
        metrics.setdefault("pass rate", []).append(1.0 if entry["outcome"] in PASS else 0.0)
    for name, value in (means or {}).items():
        metrics.setdefault(name, []).append(value)


def _add_test(run: RunData, entry: dict[str, Any], latencies: list[float],
              golden: dict[str, dict[str, list[float]]]) -> None:
    outcome = entry["outcome"]
    run.outcomes[outcome] = run.outcomes.get(outcome, 0) + 1
    if outcome in PASS:
        run.passes += 1
    if outcome in PASS or outcome == "failed":
        run.judged += 1
    calls = entry.get("calls") or []
    live = _add_calls(run, calls, latencies)
    sampled = None
    info = entry.get("sampling")
    if info and isinstance(info.get("passes"), int):
        sampled = (info["passes"], info["passes"] + (info.get("failures") or 0))
    means = _metric_means(entry)
    path = entry["golden"]["path"] if entry.get("golden") else None
    if path is not None:
        _add_golden(entry, means, golden)
    run.tests[entry["nodeid"]] = TestPoint(CODES[outcome], sampled, len(calls), live, means, path)


def read_run(path: Path) -> RunData:
    """One record file reduced to a :class:`RunData`; ReportError names the file and what is wrong."""
    data = _parse(path)
    info = data["run"]
    label = str(path)
    git = info.git
    run = RunData(label=label, started_at=info.started_at, timestamp=_timestamp(info.started_at, label),
                  commit=git.commit if git else None, branch=git.branch if git else None, outcomes={}, passes=0,
                  judged=0, cost_usd=0.0, tokens=0, p95_latency_s=None, golden={})
    latencies: list[float] = []
    golden: dict[str, dict[str, list[float]]] = {}
    seen = run.tests
    for entry in data.get("tests") or ():
        if entry["nodeid"] in seen:
            raise ReportError(f"{label}: duplicate test id {entry['nodeid']} (merge shard records first)")
        _add_test(run, entry, latencies, golden)
    run.p95_latency_s = stats.percentile(latencies, 95)
    run.golden = {path: {name: math.fsum(v) / len(v) for name, v in sorted(metrics.items())}
                  for path, metrics in sorted(golden.items())}
    if run.cost_usd is not None:
        run.cost_usd = round(run.cost_usd, 8)
    return run


def read_runs(inputs: Iterable[str | Path]) -> tuple[list[RunData], list[str]]:
    """Every record under ``inputs`` in time order, and notes on skipped files."""
    given = list(inputs)
    explicit = {Path(p).resolve() for p in given if Path(p).is_file()}
    runs, notes = [], []
    with gc_paused():
        for path in record_paths(given):
            try:
                runs.append(read_run(path))
            except ReportError:
                if path.resolve() in explicit or not _is_other_json(path):
                    raise
                notes.append(f"skipped {path}: not a pytest-llmops run record")
    if not runs:
        raise ReportError("no run records found in " + ", ".join(str(p) for p in given))
    runs.sort(key=lambda r: (r.timestamp, r.label))
    return runs, notes
