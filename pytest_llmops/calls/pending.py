"""One model request on its way (:class:`PendingCall`) and the helpers that shape and describe requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, RecordingMissing
from . import keys as _keys


@dataclass
class PendingCall:
    """A keyed request; ``entry`` is its recording when the cassette has one."""

    kind: str
    model: str
    payload: Any
    params: dict[str, Any]
    key: str
    sample: int
    occurrence: int
    entry: dict[str, Any] | None
    source: str
    identity: dict[str, Any] = field(default_factory=dict)  # normalized: what the key and the recording hold
    provider: str | None = None  # known up front for HTTP-captured calls

    @property
    def stream(self) -> bool:
        return bool(self.params.get("stream"))


def preview(payload: Any, limit: int = 60) -> str:
    """The last message (or first texts) of a payload on one short line, for error messages."""
    if isinstance(payload, list) and payload and isinstance(payload[-1], dict):
        text = payload[-1].get("content")
        text = text if isinstance(text, str) else str(text)
    elif isinstance(payload, list):
        text = " | ".join(str(p) for p in payload[:3])
    else:
        text = str(payload)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, (list, tuple)) and all(isinstance(m, dict) and "role" in m for m in messages) and messages:
        return [dict(m) for m in messages]
    raise ConfigError(
        "llm.complete(messages): pass a string or a non-empty list of {'role': ..., 'content': ...} dicts, "
        f"got {type(messages).__name__} {str(messages)[:80]!r}"
    )


def normalize_texts(texts: Any) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, (list, tuple)) and texts and all(isinstance(t, str) for t in texts):
        return list(texts)
    raise ConfigError(f"llm.embed(texts): pass a string or a non-empty list of strings, got {str(texts)[:80]!r}")


def fixture_params(kind: str, defaults: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The settings' default params (sampling ones dropped for embeddings) overridden by the call's params."""
    if kind == "embedding":
        defaults = {k: v for k, v in defaults.items() if k not in _keys.COMPLETION_ONLY_PARAMS}
    merged = {**defaults, **params}
    for reserved in ("model", "messages", "input", "stream"):
        if reserved in merged:
            raise ConfigError(f"llm call: pass {reserved!r} as the proper argument, not as an extra param")
    return merged


def captured_request(kind: str, kwargs: dict[str, Any]) -> tuple[str | None, Any, dict[str, Any]]:
    """``(model, payload, other params)`` of a captured litellm call's keyword arguments."""
    field_name = _keys.PAYLOAD_FIELD[kind]
    params = {k: v for k, v in kwargs.items() if k not in ("model", field_name)}
    return kwargs.get("model"), kwargs.get(field_name), params


def live_kwargs(params: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Keyword arguments of a live litellm call: no litellm retries (ours wrap it), our timeout as a bound."""
    kwargs = dict(params)
    kwargs["num_retries"] = 0
    if timeout:  # --llmops-timeout bounds every call, also when the app passes a longer one
        given = kwargs.get("timeout")
        kwargs["timeout"] = timeout if not isinstance(given, (int, float)) else min(float(given), timeout)
    return kwargs


def missing_recording(
    pending: PendingCall, nodeid: str, where: str, mode: str, existed: bool, diagnosis: str = ""
) -> RecordingMissing:
    """The error for a request without a recording in a replay-only run, with the command that records it."""
    how = (
        "--llmops-record-mode=new_episodes (adds the missing calls to the existing cassette)"
        if existed
        else "--llmops-record-mode=once (records a new cassette)"
    )
    what = f"streaming {pending.kind}" if pending.stream else pending.kind
    via = " (captured at the HTTP layer)" if pending.source == "http" else ""
    message = (
        f"no recording for a {what} call{via} to {pending.model!r} (prompt {preview(pending.payload)!r}, "
        f"sample {pending.sample}, occurrence {pending.occurrence}, key {pending.key[:12]}) in {where} for test "
        f"{nodeid} (record mode {mode}). Record it with: pytest {nodeid!r} {how}"
    )
    return RecordingMissing(message + ("\n" + diagnosis if diagnosis else ""))
