"""A production conversation as a golden case: the user's turns, the production answers as reference, provenance.

One user turn gives ``input`` (the user's text) and ``expected`` (the production answer); several give
``turns`` (``user`` and the production answer as ``expected`` of each) plus the last answer as ``expected``.
``metadata.production`` keeps where the case came from: source, file, trace id, span ids, time, model,
prompt version (when the trace names one), feedback, what was redacted and which near-duplicates were merged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .model import ModelCall, Trace
from .otel import iso
from .select import feedback_of, trace_tags

#: attribute names read as the prompt version a production call used (first found wins)
PROMPT_ATTRIBUTES = (("llmops.prompt.name", "llmops.prompt.version"), ("prompt.name", "prompt.version"),
                     ("gen_ai.prompt.name", "gen_ai.prompt.version"))


def case_id(trace: Trace, prefix: str = "prod") -> str:
    digest = hashlib.sha256(f"{trace.source}:{trace.trace_id}".encode()).hexdigest()[:12]
    return f"{prefix}-{digest}"


def turns_of(trace: Trace) -> list[tuple[str, list[ModelCall]]]:
    """The user turns of a conversation: each user message with the calls that answered it."""
    turns: list[tuple[str, list[ModelCall]]] = []
    for call in trace.calls:
        if call.last_role == "user":
            content = call.messages[-1].get("content")
            turns.append((content if isinstance(content, str) else str(content), [call]))
        elif turns:
            turns[-1][1].append(call)  # a tool round-trip continues the turn
    return turns


def _prompt(trace: Trace) -> dict[str, str] | None:
    for name_key, version_key in PROMPT_ATTRIBUTES:
        if trace.attributes.get(name_key):
            return {"name": str(trace.attributes[name_key]), "version": str(trace.attributes.get(version_key, ""))}
    return None


def provenance(trace: Trace, redacted: dict[str, int], feedback_key: str = "user.feedback") -> dict[str, Any]:
    first, last = trace.calls[0], trace.calls[-1]
    out: dict[str, Any] = {
        "source": trace.source, "file": trace.origin, "trace_id": trace.trace_id,
        "time": iso(trace.started),
        "model": f"{first.provider}/{first.model}", "response_model": last.response_model, "calls": len(trace.calls),
        "redacted": dict(sorted(redacted.items())),
    }
    if trace.source == "otel":
        out["span_ids"] = [c.span_id for c in trace.calls]
    out.update({k: v for k, v in trace.extra.items() if k not in ("span_ids",) and v not in (None, [], "")})
    for key, value in (("prompt", _prompt(trace)), ("feedback", feedback_of(trace, feedback_key))):
        if value:
            out[key] = value
    if trace.merged:
        out["merged"] = list(trace.merged)
    return out


def to_case(trace: Trace, redacted: dict[str, int], *, prefix: str = "prod",
            feedback_key: str = "user.feedback", tags_key: str = "tags") -> dict[str, Any] | None:
    """The golden case of ``trace`` (None when no call ends with a user message)."""
    turns = turns_of(trace)
    if not turns:
        return None
    answers = [calls[-1].answer for _, calls in turns]
    case: dict[str, Any] = {"id": case_id(trace, prefix), "input": turns[0][0]}
    if len(turns) > 1:
        case["turns"] = [{"user": user, **({"expected": answer} if answer else {})}
                         for (user, _), answer in zip(turns, answers, strict=True)]
    if answers[-1]:
        case["expected"] = answers[-1]
    tags = ["production", *trace_tags(trace, tags_key)]
    feedback = feedback_of(trace, feedback_key)
    if feedback:
        tags.append(f"feedback:{feedback}")
    case["tags"] = list(dict.fromkeys(tags))
    case["metadata"] = {"production": provenance(trace, redacted, feedback_key)}
    return case
