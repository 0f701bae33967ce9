"""Build run-record dicts by hand: for tests of the review code and for ``bench/diff.py``.

Records built here go through the same validation as real ones (:func:`record` returns a dict that
``RunRecord.model_validate`` accepts; totals come from ``collector.compute_totals``).
"""

from __future__ import annotations

from typing import Any


def run_info(*, commit: str | None = "0" * 40, branch: str | None = None, interrupted: bool = False,
             started_at: str = "2026-01-01T00:00:00.000+00:00", **extra: Any) -> dict[str, Any]:
    info = {
        "plugin_version": "0.1.0",
        "pytest_version": "8.3.0",
        "python_version": "3.11.7",
        "platform": "linux-x86_64",
        "started_at": started_at,
        "finished_at": None,
        "duration_s": None,
        "git": {"commit": commit, "branch": branch, "dirty": False} if commit else None,
        "interrupted": interrupted,
        "exit_status": 2 if interrupted else 0,
        "record_mode": "none",
    }
    info.update(extra)
    return info


def call(*, cost: float | None = 0.001, tokens: int = 100, latency: float = 0.5, cached: bool = False,
         model: str = "gpt-test", error: Any = None) -> dict[str, Any]:
    prompt = tokens * 3 // 4
    return {
        "kind": "completion",
        "model": model,
        "prompt_tokens": prompt,
        "completion_tokens": tokens - prompt,
        "total_tokens": tokens,
        "cost_usd": 0.0 if cached else cost,
        "replayed_cost_usd": cost if cached else None,
        "latency_s": 0.001 if cached else latency,
        "recorded_latency_s": latency if cached else None,
        "cached": cached,
        "retries": 0,
        "error": error,
    }


def metric(name: str, value: float, *, min: float | None = None, max: float | None = None,
           details: dict[str, Any] | None = None) -> dict[str, Any]:
    passed = None
    if min is not None or max is not None:
        passed = (min is None or value >= min) and (max is None or value <= max)
    return {"name": name, "value": value, "min": min, "max": max, "passed": passed, "scorer": None, "sample": None,
            "details": details or {}}


def sampling(passes: int, failures: int, errors: int = 0, *, verdict: str | None = None,
             interval: tuple[float, float] | None = None, min_pass_rate: float = 0.8) -> dict[str, Any]:
    valid = passes + failures
    return {
        "verdict": verdict or ("passed" if valid and passes / valid >= min_pass_rate else "failed"),
        "mode": "k_of_n",
        "min_pass_rate": min_pass_rate,
        "n_planned": valid + errors,
        "n_run": valid + errors,
        "passes": passes,
        "failures": failures,
        "errors": errors,
        "rate": passes / valid if valid else None,
        "interval": list(interval) if interval else None,
        "interval_method": "wilson",
        "confidence": 0.95,
        "rule": "k_of_n",
        "stopped_early": False,
        "samples": [],
    }


def test(nodeid: str, outcome: str = "passed", **fields: Any) -> dict[str, Any]:
    """A test entry; ``file``, ``function`` and ``params`` are derived from the node id."""
    file, _, rest = nodeid.partition("::")
    name = rest.rsplit("::", 1)[-1]
    cls = rest.rsplit("::", 1)[0] if "::" in rest else None
    function, params = name, None
    if "[" in name and name.endswith("]"):
        function, params = name[: name.index("[")], name[name.index("[") + 1: -1]
    entry: dict[str, Any] = {"nodeid": nodeid, "file": file, "function": function, "cls": cls, "params": params,
                             "outcome": outcome}
    if outcome == "error":
        entry["error_kind"] = fields.pop("error_kind", "provider")
    entry.update(fields)
    return entry


test.__test__ = False  # type: ignore[attr-defined]


def golden(path: str, case_id: str, digest: str = "g1") -> dict[str, Any]:
    return {"path": path, "hash": digest, "case_id": case_id}


def record(tests: list[dict[str, Any]], *, run: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    from ..record.aggregates import compute_aggregates
    from ..record.collector import compute_totals

    data = {
        "schema_version": 1,
        "kind": "pytest-llmops-run",
        "run": run or run_info(),
        "tests": tests,
        "totals": compute_totals(tests),
        "golden_sets": [],
        "prompts": [],
        "aggregates": compute_aggregates(tests),
        "collection_errors": [],
        "unused_recordings": [],
        "warnings": [],
    }
    data.update(fields)
    return data
