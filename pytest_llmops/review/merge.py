"""Combine the shard records of one run (CI matrix shards, separate ``-k`` runs) into one record.

* Shards must come from the same git commit, unless ``allow_mixed=True``.
* A node id in two shards is an error naming it, unless both entries are identical (a re-run shard).
* Totals and aggregates are recomputed over the merged tests (``collector.compute_totals``,
  ``aggregates.compute_aggregates``); golden sets, prompts, collection errors and warnings are unioned; a
  recording counts as unused only if every shard that reported unused recordings listed it (a shard cannot
  see the tests of the others, and this list drives pruning, so the merge stays on the safe side).
* ``run``: the earliest shard's run info, spanning from the first start to the last finish, interrupted if
  any shard was, ``merged_from`` naming the shard files.  The output validates as a :class:`RunRecord`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

from ..errors import ReportError


def _as_dict(record: Any, label: str) -> dict[str, Any]:
    from pydantic import ValidationError

    from ..record.models import RunRecord

    if isinstance(record, RunRecord):
        return record.model_dump(mode="json")
    try:
        return RunRecord.model_validate(record).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise ReportError(f"{label}: {where}: {first['msg']}") from None


def _time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _exit_status(statuses: list[int | None]) -> int | None:
    known = [s for s in statuses if s is not None]
    if not known:
        return None
    meaningful = [s for s in known if s != 5] or known  # 5 = "no tests collected" in one shard is normal
    return max(meaningful)


def merge(records: Sequence[Any], *, sources: Sequence[str] | None = None, allow_mixed: bool = False) -> dict[str, Any]:
    """Merge shard records (RunRecord objects or dicts) into one validated record dict."""
    from ..record.aggregates import compute_aggregates
    from ..record.collector import compute_totals
    from ..record.models import RunRecord

    shards, labels = _shards(records, sources)
    distinct = _commits(shards, labels, allow_mixed)
    tests = _tests(shards, labels)
    golden = _golden_sets(shards, labels, allow_mixed)
    prompts = {(p["name"], p["version"], p["hash"]): p for s in shards for p in s["prompts"]}
    collection = {(c["nodeid"], c["message"]): c for s in shards for c in s["collection_errors"]}
    reported_unused = [set(s["unused_recordings"]) for s in shards if s["unused_recordings"]]
    warnings = sorted({w for s in shards for w in s["warnings"]})
    if len(distinct) > 1:
        warnings.append(f"merged shards from {len(distinct)} git commits: {', '.join(c[:12] for c in distinct)}")
    caps = [s["totals"].get("cost_cap_usd") for s in shards if s["totals"].get("cost_cap_usd") is not None]
    merged = {
        "schema_version": shards[0]["schema_version"],
        "kind": "pytest-llmops-run",
        "run": _run(shards, labels),
        "tests": tests,
        "totals": compute_totals(tests, cap_usd=max(caps) if caps else None,
                                 cap_hit=any(s["totals"].get("cost_cap_hit") for s in shards)),
        "golden_sets": [golden[k] for k in sorted(golden)],
        "prompts": [prompts[k] for k in sorted(prompts)],
        "aggregates": compute_aggregates(tests),
        "collection_errors": [collection[k] for k in sorted(collection)],
        "unused_recordings": sorted(set.intersection(*reported_unused)) if reported_unused else [],
        "warnings": warnings,
    }
    return RunRecord.model_validate(merged).model_dump(mode="json")


def _shards(records: Sequence[Any], sources: Sequence[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The shards as validated record dicts, and the label naming each one in errors."""
    if not records:
        raise ReportError("merge: no records given; pass the shard record files of one run")
    labels = list(sources) if sources is not None else [f"shard {i + 1}" for i in range(len(records))]
    if len(labels) != len(records):
        raise ReportError("merge: sources must name every record")
    return [_as_dict(r, label) for r, label in zip(records, labels, strict=True)], labels


def _commits(shards: list[dict[str, Any]], labels: list[str], allow_mixed: bool) -> list[str]:
    """The distinct git commits of the shards; more than one is an error unless ``allow_mixed``."""
    commits = {label: (s["run"].get("git") or {}).get("commit") for s, label in zip(shards, labels, strict=True)}
    distinct = sorted({c for c in commits.values() if c})
    if len(distinct) > 1 and not allow_mixed:
        listing = ", ".join(f"{label}: {(c or 'unknown')[:12]}" for label, c in commits.items())
        raise ReportError(f"merge: the shards come from different git commits ({listing}); merge shards of one run "
                          "only, or pass --allow-mixed")
    return distinct


def _tests(shards: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """Every shard's tests once; a node id recorded with different results by two shards is an error."""
    tests: list[dict[str, Any]] = []
    where: dict[str, str] = {}
    index: dict[str, int] = {}
    conflicts: list[str] = []
    for shard, label in zip(shards, labels, strict=True):
        for test in shard["tests"]:
            nodeid = test["nodeid"]
            if nodeid in index:
                if _same_result(tests[index[nodeid]], test):
                    continue
                conflicts.append(f"{nodeid} ({where[nodeid]} and {label})")
                continue
            index[nodeid] = len(tests)
            where[nodeid] = label
            tests.append(test)
    if conflicts:
        more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
        raise ReportError("merge: test(s) recorded with different results by more than one shard: "
                          f"{'; '.join(conflicts[:10])}{more}; each test must run in exactly one shard")
    return tests


def _golden_sets(shards: list[dict[str, Any]], labels: list[str], allow_mixed: bool) -> dict[str, dict[str, Any]]:
    """Golden sets by path; one path with two hashes is an error unless ``allow_mixed`` (the first one wins)."""
    golden: dict[str, dict[str, Any]] = {}
    for shard, label in zip(shards, labels, strict=True):
        for g in shard["golden_sets"]:
            old = golden.get(g["path"])
            if old is not None and old["hash"] != g["hash"] and not allow_mixed:
                raise ReportError(f"merge: golden set {g['path']} differs between shards ({label} has another hash); "
                                  "shards of one run read the same files")
            golden.setdefault(g["path"], g)
    return golden


def _run(shards: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    """The earliest shard's run info, spanning first start to last finish, interrupted if any shard was."""
    order = sorted(range(len(shards)), key=lambda i: (shards[i]["run"].get("started_at") or "", i))
    run = dict(shards[order[0]]["run"])
    starts = [t for t in (_time(s["run"].get("started_at")) for s in shards) if t]
    ends = [t for t in (_time(s["run"].get("finished_at")) for s in shards) if t]
    if starts and ends and len(ends) == len(shards):
        run["finished_at"] = max(ends).isoformat(timespec="milliseconds")
        run["duration_s"] = round((max(ends) - min(starts)).total_seconds(), 3)
    else:
        run["finished_at"] = None
        run["duration_s"] = None
    run["interrupted"] = any(s["run"].get("interrupted") for s in shards)
    run["exit_status"] = _exit_status([s["run"].get("exit_status") for s in shards])
    run["merged_from"] = [*[m for s in shards for m in s["run"].get("merged_from") or []], *labels]
    return run


def _same_result(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ignore = ("duration_s", "worker")
    return {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}
