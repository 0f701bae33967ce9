"""The provider faults the loopback server can inject: their kinds and the HTTP errors they answer with."""

from __future__ import annotations

from collections.abc import Sequence

from .responses import error_body

FAULT_KINDS: tuple[str, ...] = ("429", "500", "503", "401", "400", "hang", "malformed", "drop")


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The fault kinds as strings; ValueError naming any unknown one."""
    kinds = tuple(str(kind) for kind in kinds)
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kind(s) {unknown}; choose from {list(FAULT_KINDS)}")
    return kinds


def fault_error(kind: str, retry_after_s: float) -> tuple[int, dict, dict]:
    """``(status, OpenAI error body, headers)`` of an HTTP-error fault kind (429, 500, 503, 401, 400)."""
    if kind == "429":
        body = error_body(
            "Rate limit reached for loopback-model: requests per min limited. Please try again later.",
            "requests",
            "rate_limit_exceeded",
        )
        return 429, body, {"Retry-After": f"{retry_after_s:g}"}
    if kind in ("500", "503"):
        return int(kind), error_body("The server had an error while processing your request.", "server_error", None), {}
    if kind == "401":
        return 401, error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"), {}
    if kind == "400":
        message = "Invalid request: the loopback server was told to refuse it."
        return 400, error_body(message, "invalid_request_error", None), {}
    raise ValueError(f"fault kind {kind!r} is not an HTTP error")
