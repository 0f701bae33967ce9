"""Append new cases to a golden file, keeping every existing byte, the file's format and the cases' order.

* **JSONL** – one line per new case at the end, in the file's separator style (compact or ``", "``/``": "``),
  ``\\uXXXX`` escapes when the file uses them, and its newline (``\\r\\n`` kept).
* **JSON** – the new objects are inserted after the last case, dumped with the file's indent at the cases'
  own nesting.
* **YAML** – block items appended after the last case (a top-level list, or ``cases:`` as the last key),
  at the existing items' indent; multi-line strings as ``|`` blocks.
* **CSV** – refused: imported cases carry turns and nested metadata a CSV row cannot hold.

A missing file is created.  Cases whose id is already in the file are left out (an import run twice adds
nothing).  The result is parsed and validated before it is written atomically under the golden file lock.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ...common.atomic import write_atomic
from ...errors import GoldenError
from .edit_json import _detect_indent
from .edit_yaml import _block_end, _CannotEditInPlace, _case_nodes, _yaml_dumper
from .loader import clear_cache, parse_golden_with_raw
from .readers import golden_format, json_case_spans
from .update import LOCK_TIMEOUT_SECONDS, lock_path


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _append_jsonl(text: str, cases: list[dict[str, Any]]) -> str:
    sample = next((line.strip() for line in text.splitlines() if line.strip()), "")
    compact = bool(sample) and not re.search(r"[,:] ", sample) and re.search(r'[,:]["\[{0-9tfn-]', sample) is not None
    ensure_ascii = bool(sample) and sample.isascii() and "\\u" in sample
    separators = (",", ":") if compact else (", ", ": ")
    newline = _newline(text)
    head = text if not text or text.endswith("\n") else text + newline
    return head + "".join(json.dumps(c, separators=separators, ensure_ascii=ensure_ascii) + newline for c in cases)


def _append_json(text: str, cases: list[dict[str, Any]]) -> str:
    spans = json_case_spans(text)
    if not spans:
        data = json.loads(text)
        data = {**data, "cases": cases} if isinstance(data, dict) else cases
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    start, end = spans[-1]
    line_start = text.rfind("\n", 0, start) + 1
    own_line = not text[line_start:start].strip()  # the last case starts its line: one case per line(s)
    pad = text[line_start:start] if own_line else ""
    indent = _detect_indent(text) if "\n" in text[start:end] else None
    newline = _newline(text)
    ensure_ascii = text.isascii() and bool(re.search(r"\\u[0-9a-fA-F]{4}", text))
    dumped = [json.dumps(c, indent=indent, ensure_ascii=ensure_ascii).replace("\n", newline + pad) for c in cases]
    joiner = "," + (newline + pad if own_line else " ")
    return text[:end] + "".join(joiner + d for d in dumped) + text[end:]


def _append_yaml(text: str, cases: list[dict[str, Any]]) -> str:
    try:
        seq, _ = _case_nodes(text)
    except _CannotEditInPlace:
        raise GoldenError("cannot append to this YAML golden file in place (flow-style cases list); "
                          "write the cases as a block list ('- id: ...')") from None
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    if not seq.value:
        raise GoldenError("cannot append to a YAML golden file without cases; add one case by hand first")
    column = seq.value[0].start_mark.column - 2
    last = seq.value[-1]
    end = _block_end(lines, last.start_mark.line, column, dash_continues=False)
    if any(line.strip() and not line.lstrip().startswith("#") for line in lines[end:]):
        raise GoldenError("cannot append to this YAML golden file: the cases list is not the last thing in it")
    pad = " " * column
    block = _yaml_dump(cases)
    new = [pad + line + newline if line else newline for line in block.splitlines()]
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += newline
    return "".join(lines[:end] + new + lines[end:])


def _yaml_dump(cases: list[dict[str, Any]]) -> str:
    """Block YAML with nested lists indented under their key (``turns:`` then ``  - user: ...``)."""
    import yaml

    class Indented(_yaml_dumper()):  # type: ignore[misc]
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
            return super().increase_indent(flow, False)

    return yaml.dump(cases, Dumper=Indented, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=100)


_APPENDERS = {"jsonl": _append_jsonl, "json": _append_json, "yaml": _append_yaml}


def _new_file(fmt: str, cases: list[dict[str, Any]]) -> str:
    if fmt == "jsonl":
        return _append_jsonl("", cases)
    if fmt == "json":
        return json.dumps(cases, indent=2, ensure_ascii=False) + "\n"
    return _yaml_dump(cases)


def append_cases(path: Path | str, cases: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Append ``cases`` to the golden file at ``path``; returns (ids added, ids already present)."""
    from filelock import FileLock, Timeout

    path = Path(path)
    fmt = golden_format(path)
    if fmt not in _APPENDERS:
        raise GoldenError(f"cannot append imported cases to {path}: use a .jsonl, .json or .yaml golden file")
    try:
        with FileLock(str(lock_path(path)), timeout=LOCK_TIMEOUT_SECONDS):
            return _append_locked(path, fmt, cases)
    except Timeout:
        raise GoldenError(f"could not lock {path} for {LOCK_TIMEOUT_SECONDS:.0f}s to append cases") from None


def _append_locked(path: Path, fmt: str, cases: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    text, bom = "", False
    existing: list[dict[str, Any]] = []
    if path.exists():
        raw_text = path.read_bytes().decode("utf-8")
        bom = raw_text.startswith("\ufeff")
        text = raw_text[1:] if bom else raw_text
        existing = [c.data for c in parse_golden_with_raw(text, path, fmt)[1]]
    known = {c.get("id") for c in existing}
    new = [c for c in cases if c["id"] not in known]
    present = [c["id"] for c in cases if c["id"] in known]
    if not new:
        return [], present
    new_text = _APPENDERS[fmt](text, new) if existing else _new_file(fmt, new)
    _golden, raw = parse_golden_with_raw(new_text, path, fmt)  # GoldenError if a new case is invalid
    if [c.data for c in raw] != [*existing, *new]:
        raise GoldenError(f"internal error: appending to {path} would change existing cases; file left untouched")
    write_atomic(path, ("\ufeff" if bom else "") + new_text)
    clear_cache(path)
    return [c["id"] for c in new], present
