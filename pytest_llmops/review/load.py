"""Reading run records for review, fast enough for 2 × 20,000 tests.

:func:`load_review_record` uses the same reader and checks as :func:`pytest_llmops.record.io.load_record`
(``read_json``: file:line:col for invalid or truncated JSON; ``check_schema_version``: a clear message for
another schema version), then validates

* everything but ``tests`` with the full :class:`~pytest_llmops.record.models.RunRecord` model, and
* each test with :class:`TestTD`, a schema of the fields the review reads (types checked, other fields kept
  as they are).

Validating 20,000 full ``TestEntry`` models costs most of a second per record; the reduced schema costs a
fifth of that and still turns every malformed field the review would touch into a ReportError naming
``file: $.tests[i].field``.  Tests stay plain dicts.  Fast path: the file is parsed and the tests validated
in one pass by pydantic-core (``validate_json``); when that fails for any reason, the file is read again
the careful way, whose error names the file and the line:column or field.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Optional

from typing_extensions import NotRequired, TypedDict

from ..errors import ReportError


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsing a large record creates millions of containers, and each
    automatic collection walks all of them again (it doubled the time of a 2 × 20,000-test diff).  Nothing
    built here holds reference cycles that need collecting in between."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class ReviewRecord:
    """A run record split for review: ``meta`` is the validated record without tests, ``tests`` are dicts."""

    meta: Any  # RunRecord with tests=[]
    tests: list[dict[str, Any]]
    label: str


def _where(loc: tuple[Any, ...], prefix: tuple[Any, ...] = ()) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (*prefix, *loc))


_OPEN = {"extra": "allow"}  # pydantic config: keep fields the review does not read


class MetricTD(TypedDict):
    name: str
    value: float
    min: NotRequired[Optional[float]]
    max: NotRequired[Optional[float]]
    passed: NotRequired[Optional[bool]]
    details: NotRequired[dict[str, Any]]


class CallTD(TypedDict, total=False):
    model: Optional[str]
    total_tokens: Optional[int]
    cost_usd: Optional[float]
    replayed_cost_usd: Optional[float]
    latency_s: Optional[float]
    recorded_latency_s: Optional[float]
    cached: Optional[bool]


class PromptTD(TypedDict):
    name: str
    version: str
    hash: str


class GoldenTD(TypedDict):
    path: str
    hash: str
    case_id: str


class SamplingTD(TypedDict, total=False):
    passes: Optional[int]
    failures: Optional[int]
    errors: Optional[int]
    interval: Optional[list[float]]


class TestTD(TypedDict):
    nodeid: str
    file: str
    function: str
    cls: NotRequired[Optional[str]]
    params: NotRequired[Optional[str]]
    outcome: Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
    duration_s: NotRequired[float]
    message: NotRequired[Optional[str]]
    error_kind: NotRequired[Optional[str]]
    metrics: NotRequired[list[MetricTD]]
    notes: NotRequired[list[str]]
    artifacts: NotRequired[dict[str, Any]]
    calls: NotRequired[list[CallTD]]
    prompts: NotRequired[list[PromptTD]]
    golden: NotRequired[Optional[GoldenTD]]
    sampling: NotRequired[Optional[SamplingTD]]


TestTD.__test__ = False  # type: ignore[attr-defined]


class RecordTD(TypedDict):
    schema_version: int
    kind: str
    tests: list[TestTD]


for _td in (MetricTD, CallTD, GoldenTD, SamplingTD, TestTD, RecordTD):
    _td.__pydantic_config__ = _OPEN  # type: ignore[attr-defined]


@lru_cache(maxsize=1)
def _test_adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(list[TestTD])


@lru_cache(maxsize=1)
def _record_adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(RecordTD)




def from_data(data: Any, label: str) -> ReviewRecord:
    """Validate a record dict (as read from JSON) for review; ReportError names ``label`` and the field."""
    from pydantic import ValidationError

    from ..record.io import check_schema_version
    from ..record.models import RunRecord

    check_schema_version(data, Path(label))
    tests = data.get("tests", [])
    if not isinstance(tests, list):
        raise ReportError(f"{label}: $.tests: must be a list of test entries")
    try:
        meta = RunRecord.model_validate({**data, "tests": []})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ReportError(f"{label}: {_where(first['loc'])}: {first['msg']}") from None
    try:
        checked = _test_adapter().validate_python(tests)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ReportError(f"{label}: {_where(first['loc'], ('tests',))}: {first['msg']}") from None
    return ReviewRecord(meta=meta, tests=checked, label=label)


def load_review_record(path: str | Path) -> ReviewRecord:
    from ..record.io import read_json

    path = Path(path)
    with gc_paused():
        try:
            raw = path.read_bytes()
            data = _record_adapter().validate_json(raw)
        except Exception:  # noqa: BLE001 - any problem: take the careful path, which explains it
            return from_data(read_json(path), str(path))
        return _from_checked(data, str(path))


def _from_checked(data: dict[str, Any], label: str) -> ReviewRecord:
    """``data`` has passed RecordTD (tests checked); check the version and validate the rest."""
    from pydantic import ValidationError

    from ..record.io import check_schema_version
    from ..record.models import RunRecord

    check_schema_version(data, Path(label))
    try:
        meta = RunRecord.model_validate({**data, "tests": []})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ReportError(f"{label}: {_where(first['loc'])}: {first['msg']}") from None
    return ReviewRecord(meta=meta, tests=data["tests"], label=label)


def as_review_record(record: Any, label: str) -> ReviewRecord:
    """Accept a ReviewRecord, a RunRecord model or a record dict."""
    from ..record.models import RunRecord

    if isinstance(record, ReviewRecord):
        return record
    if isinstance(record, RunRecord):
        data = record.model_dump(mode="json")
        return ReviewRecord(meta=record.model_copy(update={"tests": []}), tests=data["tests"], label=label)
    if isinstance(record, dict):
        return from_data(record, label)
    raise ReportError(f"{label}: not a run record (got {type(record).__name__})")
