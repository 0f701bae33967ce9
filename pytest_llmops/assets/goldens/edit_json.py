"""Format-preserving edits of the ``approved`` value of cases in JSONL and JSON golden files."""

from __future__ import annotations

import json
import re
from typing import Any

from .readers import json_case_spans, no_duplicate_keys

_WS = re.compile(r"[ \t\n\r]*")


def set_approved(obj: dict[str, Any], value: Any) -> dict[str, Any]:
    """A copy of the case ``obj`` with ``approved`` set (kept in its place when present, last when new)."""
    out = dict(obj)
    out["approved"] = value
    return out


def _json_members(text: str, start: int) -> list[tuple[str, int, int, int]]:
    """``(key, key start, value start, value end)`` of each member of the JSON object starting at ``start``."""
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    members: list[tuple[str, int, int, int]] = []
    i = ws(start + 1)
    while text[i] != "}":
        key_start = i
        key, i = decoder.raw_decode(text, i)
        i = ws(ws(i) + 1)
        value_end = decoder.raw_decode(text, i)[1]
        members.append((key, key_start, i, value_end))
        i = ws(value_end)
        if text[i] == ",":
            i = ws(i + 1)
    return members


def _json_object_edit(
    text: str, start: int, end: int, value: Any, indent: int | str | None, ensure_ascii: bool, newline: str
) -> str:
    """New text of the JSON object ``text[start:end]`` with its ``approved`` member set to ``value``.

    Only the ``approved`` value is written (or a member appended); every other byte is kept.
    """
    members = _json_members(text, start)
    original = text[start:end]
    if "\n" not in original:  # one-line object: one-line value in the object's own spacing
        compact = not re.search(r"[,:] ", original) and re.search(r'[,:]["\[{0-9tfn-]', original) is not None
        separators = (",", ":") if compact else (", ", ": ")
        dumped = json.dumps(value, separators=separators, ensure_ascii=ensure_ascii)
        member = f'{separators[0]}"approved"{separators[1]}{dumped}'
    else:
        key_start = members[0][1]
        line_start = text.rfind("\n", 0, key_start) + 1
        pad = text[line_start:key_start]
        if pad.strip():
            raise ValueError("unusual JSON layout")
        dumped = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii).replace("\n", newline + pad)
        member = f',{newline}{pad}"approved": {dumped}'
    existing = [m for m in members if m[0] == "approved"]
    if existing:
        _, _, value_start, value_end = existing[-1]
        return text[start:value_start] + dumped + text[value_end:end]
    last_end = members[-1][3]
    return text[start:last_end] + member + text[last_end:end]


def edit_jsonl(text: str, updates: dict[str, Any]) -> str:
    """Rewrite only the lines of updated cases; every other line stays byte-identical."""
    lines = text.split("\n")
    needles = {json.dumps(case_id, ensure_ascii=flag) for case_id in updates for flag in (True, False)}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or not any(needle in stripped for needle in needles):
            continue  # cannot hold an updated id: no need to parse it
        obj = json.loads(stripped, object_pairs_hook=no_duplicate_keys)
        if isinstance(obj, dict) and obj.get("id") in updates:
            start = len(line) - len(line.lstrip())
            end = len(line.rstrip())  # keeps a "\r" of CRLF files
            ensure_ascii = stripped.isascii() and "\\u" in stripped
            lines[index] = (
                line[:start]
                + _json_object_edit(line, start, end, updates[obj["id"]], None, ensure_ascii, "\n")
                + line[end:]
            )
    return "\n".join(lines)


def _detect_indent(text: str) -> int | str | None:
    match = re.search(r"\n([ \t]+)\S", text)
    if match is None:
        return None
    unit = match.group(1)
    return "\t" * len(unit) if unit.startswith("\t") else len(unit)


def edit_json(text: str, updates: dict[str, Any]) -> str:
    """Replace only the text of each updated case object; the rest of the file is byte-identical."""
    data = json.loads(text)
    cases = data["cases"] if isinstance(data, dict) else data
    spans = json_case_spans(text)
    indent = _detect_indent(text)
    ensure_ascii = text.isascii() and bool(re.search(r"\\u[0-9a-fA-F]{4}", text))
    newline = "\r\n" if "\r\n" in text else "\n"
    pieces: list[str] = []
    last = 0
    for case, (start, end) in zip(cases, spans, strict=False):
        if not isinstance(case, dict) or case.get("id") not in updates:
            continue
        pieces.append(text[last:start])
        try:
            pieces.append(_json_object_edit(text, start, end, updates[case["id"]], indent, ensure_ascii, newline))
        except ValueError:  # a layout we do not edit in place: re-dump this one case at its own indent
            line_start = text.rfind("\n", 0, start) + 1
            base = re.match(r"[ \t]*", text[line_start:start]).group(0)  # type: ignore[union-attr]
            dumped = json.dumps(set_approved(case, updates[case["id"]]), indent=indent, ensure_ascii=ensure_ascii)
            pieces.append(dumped.replace("\n", newline + base))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)
