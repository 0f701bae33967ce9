"""Which traces become cases: filters (feedback, tags, time), PII redaction, near-duplicate merging, sampling.

Order: filter, redact, merge near-duplicates, then sample — so a sample of N holds N distinct conversations.
Redaction uses :func:`pytest_llmops.common.pii.redact_pii` on every message text, answer and tool-call
argument (placeholders such as ``[email]``), so the recorded requests and the case inputs stay consistent.
Near-duplicates: two conversations whose user messages, lower-cased with punctuation and extra spaces removed,
are equal, or whose word sets have a Jaccard similarity of at least ``threshold``; the earliest is kept and
the others are listed in its ``merged``.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...common.pii import find_pii, redact_pii
from .model import Trace
from .otel import EPOCH, iso

_WORD = re.compile(r"\w+")


@dataclass
class TraceFilter:
    feedback: tuple[str, ...] = ()  # accepted values of the feedback attribute (case-insensitive)
    feedback_key: str = "user.feedback"
    tags: tuple[str, ...] = ()  # every one must be among the trace's tags
    tags_key: str = "tags"
    since: datetime | None = None
    until: datetime | None = None


def trace_tags(trace: Trace, key: str = "tags") -> list[str]:
    found: list[str] = []
    for name in (key, "tag.tags"):
        value = trace.attributes.get(name)
        if isinstance(value, str):
            value = [t.strip() for t in value.split(",")]
        if isinstance(value, (list, tuple)):
            found += [str(t) for t in value if str(t).strip() and str(t) not in found]
    return found


def feedback_of(trace: Trace, key: str = "user.feedback") -> str | None:
    value = trace.attributes.get(key)
    return None if value is None else str(value).lower()


def matches(trace: Trace, rule: TraceFilter) -> bool:
    if rule.feedback and feedback_of(trace, rule.feedback_key) not in {v.lower() for v in rule.feedback}:
        return False
    if rule.tags and not set(rule.tags) <= set(trace_tags(trace, rule.tags_key)):
        return False
    started = trace.started
    if rule.since is not None and (started is None or started < rule.since):
        return False
    return not (rule.until is not None and (started is None or started >= rule.until))


# -- redaction ------------------------------------------------------------------------------------------------
def _redact_text(text: Any, counts: Counter[str]) -> Any:
    if not isinstance(text, str):
        return text
    counts.update(m.kind for m in find_pii(text))
    return redact_pii(text)


def _redact_message(message: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    out = dict(message)
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = [{**p, "text": _redact_text(p.get("text"), counts)} if isinstance(p, dict) and "text" in p
                          else p for p in content]
    else:
        out["content"] = _redact_text(content, counts)
    if isinstance(out.get("tool_calls"), list):
        out["tool_calls"] = [_redact_tool_call(c, counts) for c in out["tool_calls"]]
    return out


def _redact_tool_call(call: Any, counts: Counter[str]) -> Any:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return call
    function = dict(call["function"])
    function["arguments"] = _redact_text(function.get("arguments"), counts)
    return {**call, "function": function}


def redact_trace(trace: Trace) -> Counter[str]:
    """Redact PII in place in every call of ``trace``; returns how many of each kind were replaced."""
    counts: Counter[str] = Counter()
    for call in trace.calls:
        call.messages = [_redact_message(m, counts) for m in call.messages]
        if call.output is not None:
            call.output = _redact_message(call.output, counts)
    return counts


# -- near-duplicates ------------------------------------------------------------------------------------------
def normalized(trace: Trace) -> str:
    return " ".join(_WORD.findall(" ".join(trace.user_texts()).lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _prefix(words: list[str], threshold: float) -> list[str]:
    """The tokens (rarest first) two sets with Jaccard >= threshold must share one of (prefix filtering)."""
    return words[:len(words) - math.ceil(threshold * len(words)) + 1] if words else []


def merge_near_duplicates(traces: list[Trace], threshold: float = 0.9) -> list[Trace]:
    """The traces without near-duplicates (earliest kept; the others listed in its ``merged``).

    Exact: every pair with Jaccard >= ``threshold`` is found, but only pairs sharing a rare word are compared
    (prefix filtering: with words ordered rarest first, such a pair shares one of the first
    ``n - ceil(threshold * n) + 1`` words of each set).
    """
    ordered = sorted(traces, key=lambda t: t.started or EPOCH)
    texts = [normalized(t) for t in ordered]
    frequency = Counter(word for text in texts for word in set(text.split()))
    kept: list[tuple[Trace, set[str]]] = []
    exact: dict[str, int] = {}
    index: dict[str, list[int]] = defaultdict(list)
    for trace, text in zip(ordered, texts, strict=True):
        words = sorted(set(text.split()), key=lambda w: (frequency[w], w))
        prefix = _prefix(words, threshold)
        twin = exact.get(text)
        if twin is None:
            candidates = sorted({k for word in prefix for k in index[word]})
            twin = next((k for k in candidates if jaccard(kept[k][1], set(words)) >= threshold), None)
        if twin is not None:
            kept[twin][0].merged.append({"trace_id": trace.trace_id, "time": iso(trace.started)})
            continue
        exact[text] = len(kept)
        for word in prefix:
            index[word].append(len(kept))
        kept.append((trace, set(words)))
    return [trace for trace, _ in kept]


def sample(traces: list[Trace], n: int | None, seed: int = 0) -> list[Trace]:
    """``n`` of the traces chosen with ``random.Random(seed)``, in their original order (all when n is None)."""
    if n is None or n >= len(traces):
        return list(traces)
    chosen = set(random.Random(seed).sample(range(len(traces)), n))
    return [t for i, t in enumerate(traces) if i in chosen]
