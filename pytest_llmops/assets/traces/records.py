"""The project's own run records read as conversations: a failing case of a live run becomes a pinned case.

Each selected test (by default those that failed) gives one trace, whose calls are the entries of the
test's recording (``recordings.cassette`` in the record, a path relative to the run's root directory), in
the order the record lists the test's calls.  A test without a recording is skipped and counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import GoldenError
from ...record.io import read_json
from .model import ModelCall, Trace
from .otel import parse_time

DEFAULT_OUTCOMES = ("failed",)


def _cassette_entries(path: Path) -> list[dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoldenError(f"cannot read the recording {path}: {exc}") from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise GoldenError(f"{path}: not a recording (no 'entries' list)")
    return [e for e in entries if isinstance(e, dict) and e.get("kind") == "completion"]


def _ordered(entries: list[dict[str, Any]], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries in the order the test made its calls (the record keeps each call's key prefix)."""
    order = [str(c.get("key") or "") for c in calls]
    rank = {key: index for index, key in enumerate(order) if key}

    def position(entry: dict[str, Any]) -> tuple[int, int, int]:
        prefix = next((k for k in rank if str(entry["key"]).startswith(k)), None)
        return (rank[prefix] if prefix is not None else len(rank), entry.get("sample", 0), entry.get("occurrence", 0))

    return sorted(entries, key=position)


def _call(entry: dict[str, Any]) -> ModelCall:
    request = entry.get("request") or {}
    model = str(request.get("model") or "unknown")
    provider, _, bare = model.partition("/") if "/" in model else ("openai", "", model)
    response = entry.get("response") or {}
    choice = (response.get("choices") or [{}])[0] if isinstance(response.get("choices"), list) else {}
    usage = entry.get("usage") or {}
    return ModelCall(
        model=bare, provider=entry.get("provider") or provider, messages=list(request.get("messages") or []),
        params=dict(request.get("params") or {}), output=choice.get("message"),
        finish_reason=choice.get("finish_reason"),
        usage={k: int(v) for k, v in usage.items() if k in ("prompt_tokens", "completion_tokens", "total_tokens")},
        response_model=response.get("model"), response_id=response.get("id"),
        started=parse_time(entry.get("recorded_at")), latency_s=entry.get("latency_s"),
    )


def read_record(path: Path, outcomes: tuple[str, ...] = DEFAULT_OUTCOMES) -> tuple[list[Trace], int]:
    """One trace per test of the record with an outcome in ``outcomes``; also how many had no recording."""
    data = read_json(Path(path))
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise GoldenError(f"{path}: not a pytest-llmops run record (no 'tests' list)")
    run = data.get("run") or {}
    root = Path(run.get("rootdir") or Path(path).parent)
    traces: list[Trace] = []
    missing = 0
    for test in data["tests"]:
        if test.get("outcome") not in outcomes:
            continue
        cassette = (test.get("recordings") or {}).get("cassette")
        where = root / cassette if cassette and not Path(cassette).is_absolute() else Path(cassette or "")
        if not cassette or not where.is_file():
            missing += 1
            continue
        calls = [_call(e) for e in _ordered(_cassette_entries(where), test.get("calls") or [])]
        if not calls:
            missing += 1
            continue
        traces.append(Trace(
            trace_id=str(test["nodeid"]), calls=calls, source="run-record", origin=str(path),
            attributes={"outcome": test.get("outcome"), "tags": [m.get("name") for m in test.get("markers") or []],
                        **{f"test.{k}": v for k, v in (test.get("artifacts") or {}).items()
                           if isinstance(v, (str, int, float, bool))}},
            started=parse_time(run.get("started_at")),
            extra={"nodeid": test["nodeid"], "outcome": test.get("outcome"), "message": test.get("message"),
                   "commit": (run.get("git") or {}).get("commit"), "prompts": test.get("prompts") or []},
        ))
    return traces, missing
