"""Turns per-phase test results (plain builtins) into the entries and totals of the run record.

The plugin feeds it from ``pytest_runtest_logreport`` on the process that writes the record (the xdist
controller, or the only process); the same path serves ``-n 0`` and ``-n 2``.
"""

from __future__ import annotations

from typing import Any

_CRASH_MARK = "crashed while running"


def short_message(text: str | None, limit: int = 500) -> str | None:
    if not text:
        return None
    text = str(text).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # pytest's long representation ends with the "E   ..." lines that say what failed; prefer those.
    e_lines = [line.strip()[1:].strip() for line in lines if line.strip().startswith("E ")]
    chosen = " | ".join(e_lines) if e_lines else " | ".join(line.strip() for line in lines)
    return chosen if len(chosen) <= limit else chosen[: limit - 1] + "…"


def _apply_phase(entry: dict[str, Any], when: str, outcome: str, wasxfail: bool, longrepr: str | None,
                 error_kind: str | None) -> None:
    """The test's outcome after one phase report (setup, call, teardown, or xdist's crash phase)."""
    skipped = "xfailed" if wasxfail else "skipped"
    if when == "call":
        if outcome == "passed":
            _set(entry, "xpassed" if wasxfail else "passed", None, None)
        elif outcome == "skipped":
            _set(entry, skipped, longrepr, None)
        else:
            _set(entry, "error" if error_kind else "failed", longrepr, error_kind or None)
    elif when == "setup":
        if outcome == "failed":
            _set(entry, "error", longrepr, error_kind or "setup")
        elif outcome == "skipped":
            _set(entry, skipped, longrepr, None)
    elif when == "teardown":
        if outcome == "failed" and entry["outcome"] in ("passed", "xpassed", None):
            _set(entry, "error", longrepr, "teardown")
    elif outcome == "failed":  # xdist's "???" phase of a crashed worker and other unknown phases
        _set(entry, "error", longrepr, error_kind or "crash")


class RunCollector:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.collection_errors: list[dict[str, str]] = []

    def add_phase(
        self,
        *,
        nodeid: str,
        when: str,
        outcome: str,
        duration: float,
        wasxfail: bool,
        longrepr: str | None,
        data: dict[str, Any] | None,
        error_kind: str | None,
        worker: str | None,
    ) -> None:
        entry = self.entries.get(nodeid)
        if entry is None:
            entry = self.entries[nodeid] = _new_entry(nodeid)
        entry["duration_s"] = round(entry["duration_s"] + float(duration or 0.0), 6)
        if worker:
            entry["worker"] = worker
        if data:
            for key, value in data.items():
                entry[key] = value
        if longrepr and _CRASH_MARK in longrepr:
            _set(entry, "error", longrepr, "crash")
            return
        _apply_phase(entry, when, outcome, wasxfail, longrepr, error_kind)

    def add_collection_error(self, nodeid: str, longrepr: str | None) -> None:
        message = short_message(longrepr, 2000) or "collection error"
        self.collection_errors.append({"nodeid": nodeid, "message": message})

    def tests(self, only_recorded: bool = False) -> list[dict[str, Any]]:
        out = []
        for entry in self.entries.values():
            if entry["outcome"] is None:  # started but never reported a result (interrupted)
                continue
            if only_recorded and "markers" not in entry:  # no llmops data reached this entry
                continue
            out.append(entry)
        return out


def _new_entry(nodeid: str) -> dict[str, Any]:
    file, _, rest = nodeid.partition("::")
    name = rest.rsplit("::", 1)[-1] if rest else nodeid
    cls = rest.rsplit("::", 1)[0] if "::" in rest else None
    function, params = name, None
    if "[" in name and name.endswith("]"):
        function, params = name[: name.index("[")], name[name.index("[") + 1 : -1]
    return {
        "nodeid": nodeid,
        "file": file,
        "function": function,
        "cls": cls,
        "params": params,
        "outcome": None,
        "duration_s": 0.0,
        "message": None,
        "error_kind": None,
    }


def _set(entry: dict[str, Any], outcome: str, message: str | None, error_kind: str | None) -> None:
    entry["outcome"] = outcome
    entry["message"] = short_message(message)
    entry["error_kind"] = error_kind


def _p(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    # inclusive method: p95 of a small sample stays inside the observed range
    import statistics

    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def compute_totals(
    tests: list[dict[str, Any]], *, cap_usd: float | None = None, cap_hit: bool = False
) -> dict[str, Any]:
    outcomes: dict[str, int] = {}
    prompt = completion = total = calls = live = replayed = 0
    cost: float | None = 0.0
    replayed_cost: float | None = 0.0
    unpriced: set[str] = set()
    latencies: dict[str, list[float]] = {}
    for test in tests:
        outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
        for call in test.get("calls") or []:
            calls += 1
            prompt += int(call.get("prompt_tokens") or 0)
            completion += int(call.get("completion_tokens") or 0)
            total += int(call.get("total_tokens") or 0)
            model = str(call.get("model") or "?")
            if call.get("cached"):
                replayed += 1
                if call.get("replayed_cost_usd") is None:
                    unpriced.add(model)
                elif replayed_cost is not None:
                    replayed_cost += float(call["replayed_cost_usd"])
                latency = call.get("recorded_latency_s")
            else:
                live += 1
                if call.get("error") is None and call.get("cost_usd") is None:
                    unpriced.add(model)
                elif call.get("cost_usd") is not None and cost is not None:
                    cost += float(call["cost_usd"])
                latency = call.get("latency_s")
            if latency is not None and call.get("error") is None and not call.get("retries"):
                latencies.setdefault(model, []).append(float(latency))
    return {
        "tests": len(tests),
        "outcomes": dict(sorted(outcomes.items())),
        "calls": calls,
        "live_calls": live,
        "replayed_calls": replayed,
        "tokens": {"prompt": prompt, "completion": completion, "total": total},
        "cost_usd": None if cost is None else round(cost, 8),
        "replayed_cost_usd": None if replayed_cost is None else round(replayed_cost, 8),
        "unpriced_models": sorted(unpriced),
        "latency": {
            model: {"calls": len(vals), "p50_s": round(_p(sorted(vals), 50), 6),
                    "p95_s": round(_p(sorted(vals), 95), 6)}
            for model, vals in sorted(latencies.items())
        },
        "cost_cap_usd": cap_usd,
        "cost_cap_hit": cap_hit,
    }
