"""The plugin's markers: usage lines for ``pytest --markers`` and validation of their arguments."""

from __future__ import annotations

from typing import Any

from ..common.numbers import is_finite
from ..errors import ConfigError

MARKERS: dict[str, str] = {
    "golden": "golden(path, *, tags=None, limit=None): one test item per case of a golden set "
    "(.jsonl/.json/.yaml/.csv); the case is the golden_case fixture",
    "prompt": "prompt(name, *, version=None, versions=None): the prompt fixture renders this prompt; "
    "versions=[...] runs the test once per version (A/B)",
    "sampling": "sampling(n, min_pass_rate, *, mode='k_of_n'|'confident', confidence=0.95, early_stop=True, "
    "interval='wilson'|'clopper-pearson', concurrent=False, max_parallel=4, inconclusive=None): run the test "
    "body up to n times and pass on the pass rate",
    "budget": "budget(*, usd=None, tokens=None, p95_latency_s=None): fail the test when its model calls cost, "
    "use or take more than this",
    "llm": "llm(model=None, **params): default model and litellm parameters for this test's model calls",
    "aggregate": "aggregate(metric, *, min=None, max=None, stat='mean'): a run-level check over every item of "
    "this test function (e.g. mean recall@5 over a golden set)",
    "embedder": "embedder(spec): similarity backend for this test (sentence-transformers[:PATH], lexical, "
    "litellm:MODEL)",
    "live_local": "live_local: needs the real local model server (SmolLM2 via llama-cpp-python)",
    "judge_audit": "judge_audit(labels, *, criteria=None, tags=None, min_kappa=0.6, pass_score=None, retest=1, "
    "confidence=0.95, n_resamples=2000, seed=0): after the test body, run the test's judge on a human label file "
    "and fail when the lower bound of Cohen's kappa's interval is below min_kappa",
    "llmops_allow_hosts": "llmops_allow_hosts(*hosts): in replay-only runs this test may also connect to these "
    "hosts (names, IPs or CIDR ranges; '*': no network guard)",
    "llmops_normalize": "llmops_normalize(pattern=None, placeholder=None, *, hook=None): a replay-key normalizer "
    "for this test's model calls: regex -> placeholder, or hook(request) -> request",
}

OUR_MARKERS = frozenset(MARKERS)

_ALLOWED: dict[str, tuple[int, int, frozenset[str] | None]] = {
    # name: (min positional, max positional, allowed kwargs or None for any)
    "golden": (1, 1, frozenset({"tags", "limit"})),
    "prompt": (1, 1, frozenset({"version", "versions"})),
    "sampling": (0, 2, frozenset({"n", "min_pass_rate", "mode", "confidence", "early_stop", "interval", "min_valid",
                                  "concurrent", "max_parallel", "inconclusive"})),
    "budget": (0, 0, frozenset({"usd", "tokens", "p95_latency_s"})),
    "llm": (0, 0, None),
    "aggregate": (1, 1, frozenset({"min", "max", "stat"})),
    "embedder": (1, 1, frozenset()),
    "live_local": (0, 0, frozenset()),
    "judge_audit": (1, 1, frozenset({"criteria", "tags", "min_kappa", "pass_score", "retest", "confidence",
                                     "n_resamples", "seed"})),
    "llmops_allow_hosts": (0, 64, frozenset()),
    "llmops_normalize": (0, 2, frozenset({"hook"})),
}


def check_marker(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise ConfigError when a marker of ours has arguments it does not take."""
    rule = _ALLOWED.get(name)
    if rule is None:
        return
    low, high, allowed = rule
    if not low <= len(args) <= high:
        wanted = f"{low}" if low == high else f"{low} to {high}"
        raise ConfigError(f"@pytest.mark.{name} takes {wanted} positional argument(s), got {len(args)}; usage: "
                          f"{MARKERS[name]}")
    if allowed is not None:
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ConfigError(
                f"@pytest.mark.{name} got unknown argument(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(allowed)) or '(none)'}"
            )
    if name == "llmops_normalize":
        from .normalizers import check_marker as check_normalize

        check_normalize(args, kwargs)
    if name == "budget":
        from ..calls.budget import validate_budget_kwargs

        validate_budget_kwargs(kwargs)
    if name == "judge_audit":
        from .judge_audit import check_audit_marker

        check_audit_marker(args, kwargs)
    if name == "aggregate":
        _check_aggregate(args, kwargs)


def _check_aggregate(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    stat = kwargs.get("stat", "mean")
    if stat not in ("mean", "median", "min", "max"):
        raise ConfigError(f"@pytest.mark.aggregate stat={stat!r}: expected mean, median, min or max")
    if kwargs.get("min") is None and kwargs.get("max") is None:
        raise ConfigError("@pytest.mark.aggregate needs min= or max=")
    if not isinstance(args[0], str) or not args[0]:
        raise ConfigError(f"@pytest.mark.aggregate metric {args[0]!r}: expected a metric name (a string)")
    for key in ("min", "max"):
        value = kwargs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not is_finite(value)):
            raise ConfigError(f"@pytest.mark.aggregate {key}={value!r}: expected a finite number")


def json_safe(value: Any, depth: int = 0) -> Any:
    """Marker arguments as plain JSON data (for the run record); anything else becomes its repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if depth < 4 and isinstance(value, (list, tuple)):
        return [json_safe(v, depth + 1) for v in value]
    if depth < 4 and isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    return repr(value)
