"""Plain JSON-lines logs read as conversations, through a user-given field mapping.

``mapping`` names, for each field the import needs, a dotted path into a log line (``request.question``);
defaults in :data:`DEFAULT_MAPPING`.  ``messages`` (a list of chat messages) wins over ``input`` (the user's
text); ``system`` adds a system message in front of ``input``.  ``feedback`` and ``tags`` become the
``user.feedback`` and ``tags`` attributes the filters read; every other field of the line is kept flattened
(``a.b.c``) so ``--feedback-key`` may point at any of them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ...errors import GoldenError
from .model import ModelCall, Trace
from .otel import json_values, parse_time

DEFAULT_MAPPING = {
    "id": "id", "input": "input", "messages": "messages", "system": "system", "output": "output",
    "time": "timestamp", "model": "model", "feedback": "feedback", "tags": "tags", "provider": "provider",
}


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["input=request.question", ...]`` over :data:`DEFAULT_MAPPING`; GoldenError on an unknown field."""
    mapping = dict(DEFAULT_MAPPING)
    for item in items or []:
        name, sep, path = item.partition("=")
        if not sep or name.strip() not in DEFAULT_MAPPING or not path.strip():
            raise GoldenError(f"--map {item!r}: write FIELD=PATH with FIELD one of {', '.join(DEFAULT_MAPPING)}")
        mapping[name.strip()] = path.strip()
    return mapping


def lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, name) if isinstance(value, dict) else {name: value})
    return out


def _messages(line: dict[str, Any], mapping: dict[str, str], where: str) -> list[dict[str, Any]]:
    messages = lookup(line, mapping["messages"])
    if isinstance(messages, list) and messages:
        return [dict(m) for m in messages if isinstance(m, dict)]
    text = lookup(line, mapping["input"])
    if not isinstance(text, str) or not text.strip():
        raise GoldenError(f"{where}: no input at {mapping['input']!r} (nor messages at {mapping['messages']!r}); "
                          "point --map input=PATH at the user's text")
    system = lookup(line, mapping["system"])
    head = [{"role": "system", "content": system}] if isinstance(system, str) and system else []
    return [*head, {"role": "user", "content": text}]


def trace_of_line(line: Any, mapping: dict[str, str], origin: str, number: int) -> Trace:
    where = f"{origin}:{number}"
    if not isinstance(line, dict):
        raise GoldenError(f"{where}: a log line must be a JSON object")
    messages = _messages(line, mapping, where)
    output = lookup(line, mapping["output"])
    answer = output if isinstance(output, str) else None
    call = ModelCall(
        model=str(lookup(line, mapping["model"]) or "unknown"),
        provider=str(lookup(line, mapping["provider"]) or "openai"),
        messages=messages, output={"role": "assistant", "content": answer} if answer is not None else None,
        started=parse_time(lookup(line, mapping["time"])),
    )
    attributes = flatten(line)
    for field, attribute in (("feedback", "user.feedback"), ("tags", "tags")):
        value = lookup(line, mapping[field])
        if value is not None:
            attributes[attribute] = value
    ident = lookup(line, mapping["id"])
    trace_id = str(ident) if ident is not None else hashlib.sha256(repr(messages).encode()).hexdigest()[:32]
    return Trace(trace_id=trace_id, calls=[call], source="jsonl", origin=origin, attributes=attributes,
                 started=call.started, extra={"line": number})


def read_log(path: Path, mapping: dict[str, str]) -> list[Trace]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"cannot read {path}: {exc}") from None
    traces = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            values = json_values(raw, f"{path}:{number}")
            traces.append(trace_of_line(values[0] if len(values) == 1 else values, mapping, str(path), number))
    return traces
