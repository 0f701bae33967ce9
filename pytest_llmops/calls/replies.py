"""What ``llm.complete()`` / ``llm.embed()`` return: :class:`Reply` and :class:`EmbedReply`, built from a response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metering import usage_of


@dataclass(frozen=True)
class Reply:
    """One chat completion.  ``cached`` is True when it was replayed from a recording."""

    text: str
    model: str
    usage: dict[str, int]
    cost_usd: float | None
    replayed_cost_usd: float | None
    latency_s: float
    cached: bool
    retries: int
    raw: dict[str, Any] = field(repr=False)
    logprobs: Any = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class EmbedReply:
    """Embeddings of a batch of texts, in input order."""

    vectors: list[list[float]]
    model: str
    usage: dict[str, int]
    cost_usd: float | None
    replayed_cost_usd: float | None
    latency_s: float
    cached: bool
    retries: int
    raw: dict[str, Any] = field(repr=False)


def completion_reply(model: str, data: dict[str, Any], call: dict[str, Any]) -> Reply:
    """A :class:`Reply` from a chat-completion response (as a dict) and its metered call."""
    choices = data.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    message = first.get("message") or {}
    return Reply(
        text=message.get("content") or "",
        model=model,
        usage=usage_of(data),
        cost_usd=call["cost_usd"],
        replayed_cost_usd=call["replayed_cost_usd"],
        latency_s=call["latency_s"],
        cached=call["cached"],
        retries=call["retries"],
        raw=data,
        logprobs=first.get("logprobs"),
    )


def embedding_reply(model: str, data: dict[str, Any], call: dict[str, Any]) -> EmbedReply:
    """An :class:`EmbedReply` from an embedding response (as a dict) and its metered call."""
    items = sorted(data.get("data") or [], key=lambda d: d.get("index", 0))
    return EmbedReply(
        vectors=[list(item.get("embedding") or []) for item in items],
        model=model,
        usage=usage_of(data),
        cost_usd=call["cost_usd"],
        replayed_cost_usd=call["replayed_cost_usd"],
        latency_s=call["latency_s"],
        cached=call["cached"],
        retries=call["retries"],
        raw=data,
    )
