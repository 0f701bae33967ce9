"""A production conversation as read from a trace: its model calls in order, attributes and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ModelCall:
    """One chat-completion call: what was sent and what came back."""

    model: str  # the request model, as the provider API saw it ("gpt-4o-mini")
    provider: str  # "openai", "anthropic", ... (litellm-style prefix of the replay key's model)
    messages: list[dict[str, Any]]  # the request messages, OpenAI chat format
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, ... as sent
    output: dict[str, Any] | None = None  # the assistant message that came back ({"role", "content", ...})
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens, total_tokens
    response_model: str | None = None
    response_id: str | None = None
    span_id: str | None = None
    started: datetime | None = None
    latency_s: float | None = None

    @property
    def answer(self) -> str:
        """The text of the answer ("" when the call returned only tool calls or nothing was captured)."""
        content = (self.output or {}).get("content")
        return content if isinstance(content, str) else ""

    @property
    def last_role(self) -> str | None:
        return self.messages[-1].get("role") if self.messages else None


@dataclass
class Trace:
    """One conversation: the model calls of one trace (or log line, or test), oldest first."""

    trace_id: str
    calls: list[ModelCall]
    source: str  # "otel", "run-record" or "jsonl"
    origin: str  # the file it was read from
    attributes: dict[str, Any] = field(default_factory=dict)  # span + resource attributes, for filters
    started: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific provenance (nodeid, span ids, ...)
    merged: list[dict[str, Any]] = field(default_factory=list)  # near-duplicates folded into this one

    def user_texts(self) -> list[str]:
        """The user message that opened each turn (a call whose last message is the user's)."""
        texts: list[str] = []
        for call in self.calls:
            if call.last_role == "user":
                content = call.messages[-1].get("content")
                texts.append(content if isinstance(content, str) else str(content))
        return texts
