"""Why a request found no recording: the closest recorded request of the test and a field-level difference."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_CONTEXT = 24
_MAX_FIELDS = 6
_MISSING = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"messages[1].content": "...", "params.temperature": 0.2, ...}`` of a JSON-like value."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
    else:
        out[prefix] = value
    return out


def field_diff(recorded: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(path, recorded value, current value)`` for every leaf that differs (``_MISSING`` where absent)."""
    old, new = flatten(recorded), flatten(current)
    paths = sorted(set(old) | set(new), key=lambda p: (p.split(".")[0] != "model", p))
    pairs = [(p, old.get(p, _MISSING), new.get(p, _MISSING)) for p in paths]
    return [(p, before, after) for p, before, after in pairs if before != after]


def _clip(text: str, start: int, end: int) -> str:
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return f"{head}{text[max(0, start):end]}{tail}"


def _strings(old: str, new: str) -> tuple[str, str]:
    """The two strings around where they differ: ``"…reset your password"`` → ``"…reset the password"``."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start = prefix - _CONTEXT
    return _clip(old, start, len(old) - suffix + _CONTEXT), _clip(new, start, len(new) - suffix + _CONTEXT)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    if isinstance(value, str):
        return '"' + value.replace("\n", "\\n") + '"'
    return repr(value)


def describe_change(path: str, old: Any, new: Any) -> str:
    if isinstance(old, str) and isinstance(new, str):
        old, new = _strings(old, new)
    return f"{path}: {_show(old)} → {_show(new)}"


def closest(
    entries: Iterable[dict[str, Any]], kind: str, request: dict[str, Any],
    normalize: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]] | None:
    """The recorded entry of ``kind`` whose (normalized) request differs from ``request`` in the fewest fields."""
    best: tuple[int, dict[str, Any], list[tuple[str, Any, Any]]] | None = None
    for entry in entries:
        if entry.get("kind") != kind or not isinstance(entry.get("request"), dict):
            continue
        recorded = normalize({"kind": kind, **entry["request"]})
        recorded.pop("kind", None)
        diffs = field_diff(recorded, request)
        if best is None or len(diffs) < best[0]:
            best = (len(diffs), entry, diffs)
    return None if best is None else (best[1], best[2])


def explain(
    entries: Iterable[dict[str, Any]], kind: str, request: dict[str, Any], sample: int, occurrence: int,
    normalize: Callable[[dict[str, Any]], dict[str, Any]], normalizers: list[str],
) -> str:
    """The diagnosis lines appended to a RecordingMissing message ("" when the test has no recording of kind)."""
    entries = list(entries)
    found = closest(entries, kind, request, normalize)
    lines: list[str] = []
    if found is None:
        if entries:
            lines.append(f"the recording has {len(entries)} call(s), none of kind {kind!r}")
    else:
        entry, diffs = found
        where = f"sample {entry.get('sample')}, occurrence {entry.get('occurrence')}"
        if not diffs:
            same = sum(1 for e in entries if e.get("kind") == kind and e.get("sample") == sample)
            lines.append(f"the same request is recorded ({where}), but not as sample {sample}, occurrence "
                         f"{occurrence}: this test now makes more identical calls ({same} recorded for this sample)")
        else:
            lines.append(f"closest recorded request ({where}) differs in {len(diffs)} field(s):")
            lines += ["  " + describe_change(*d) for d in diffs[:_MAX_FIELDS]]
            if len(diffs) > _MAX_FIELDS:
                lines.append(f"  ... and {len(diffs) - _MAX_FIELDS} more")
    if normalizers:
        lines.append("replay-key normalizers applied: " + "; ".join(normalizers))
    return "\n".join(lines)
