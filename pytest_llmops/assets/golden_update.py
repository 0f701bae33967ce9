"""Write approved outputs back into a golden file, keeping everything else as it was.

:func:`update_approved` sets the ``approved`` field of some cases and rewrites the file atomically
(temporary file + ``os.replace``) under a :mod:`filelock` lock, so several xdist workers may approve
different cases of the same file concurrently.  What is preserved, per format:

* **JSONL** – only the lines of changed cases are rewritten; every other line stays byte-identical.  A
  rewritten line keeps its key order and its separator style (compact or ``", "``/``": "``).
* **JSON** – only the text of each changed case object is replaced, re-dumped with the file's detected
  indent at the case's own nesting; the rest of the file is byte-identical.
* **YAML** – only the block of each changed case is re-emitted (``yaml.safe_dump``, ``sort_keys=False``,
  multi-line strings as ``|`` blocks); comments and layout elsewhere are kept.  Comments *inside* a
  rewritten case block are lost.  When a case cannot be edited in place (flow-style ``cases: [...]``,
  anchors, unusual layout) the whole file is re-dumped instead, which drops all comments.
* **CSV** – an ``approved`` column is appended if missing; unchanged rows keep their exact text (plus one
  trailing empty cell when the column is new); changed rows are re-written with :mod:`csv`'s minimal quoting.
  Text is stored as is; any other value as JSON (on reading, a cell holding a JSON object/array is JSON).

Every edit is verified by parsing the new text and comparing with the expected data before anything is
written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..common.atomic import write_atomic
from ..errors import GoldenError
from .goldens import (
    GoldenCase,
    _csv_json_or_text,
    _no_duplicate_keys,
    clear_cache,
    csv_physical_lines,
    csv_rows,
    golden_format,
    json_case_spans,
    parse_golden_with_raw,
    read_raw_cases,
)
from .yaml_source import safe_loader_class

__all__ = ["update_approved", "lock_path"]

LOCK_TIMEOUT_SECONDS = 60.0
_BOM = "\ufeff"


def lock_path(path: Path) -> Path:
    """Lock file used for ``path`` (in the temp dir, so the user's tree gets no ``.lock`` files)."""
    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"pytest-llmops-golden-{digest}.lock"


def update_approved(path: Path | str, outputs: dict[str, Any]) -> list[str]:
    """Set ``approved`` of the cases whose ids are keys of ``outputs``; return the ids whose value changed.

    Unknown ids or non-JSON values raise :class:`GoldenError` before the file is touched.  When nothing
    changes the file is not rewritten.
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    fmt = golden_format(path)
    if not isinstance(outputs, dict):
        raise GoldenError(
            f"update_approved({path}): outputs must be a dict case id -> value, got {type(outputs).__name__}"
        )
    normalised: dict[str, Any] = {}
    for case_id, value in outputs.items():
        try:  # as JSON data: tuples become lists, so every format stores and compares the same thing
            normalised[case_id] = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise GoldenError(
                f"cannot approve case {case_id!r} of {path}: the value is not plain JSON data ({exc}); "
                "approve strings, numbers, bools, None, lists or dicts"
            ) from None
    try:
        with FileLock(str(lock_path(path)), timeout=LOCK_TIMEOUT_SECONDS):
            return _update_locked(path, fmt, normalised)
    except Timeout:
        raise GoldenError(
            f"could not lock {path} for {LOCK_TIMEOUT_SECONDS:.0f}s to write approved outputs "
            f"(lock file {lock_path(path)}); is another run stuck?"
        ) from None


@dataclass
class _KnownState:
    """What this process last read or wrote for a file: lets the next update skip re-validating it all."""

    text: str
    ids: list[str]
    raw: dict[str, dict[str, Any]]  # case id -> the case's data as written in the file


_known: dict[Path, _KnownState] = {}


def _without_null_approved(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k == "approved" and v is None)}


def _update_locked(path: Path, fmt: str, outputs: dict[str, Any]) -> list[str]:
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise GoldenError(f"cannot read golden set {path}: {exc}") from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenError(f"golden set {path} is not UTF-8 text (byte {exc.start})") from None
    bom = text.startswith(_BOM)
    body = text[1:] if bom else text
    key = path.resolve()
    state = _known.get(key)
    if state is None or state.text != body:  # first update, or another process changed the file
        _golden, raw_cases = parse_golden_with_raw(body, path, fmt)  # validates all; GoldenError if broken
        state = _KnownState(body, [c.data["id"] for c in raw_cases], {c.data["id"]: c.data for c in raw_cases})
        _known[key] = state
    unknown = [case_id for case_id in outputs if case_id not in state.raw]
    if unknown:
        raise GoldenError(
            f"cannot approve unknown case id(s) {', '.join(map(repr, unknown))} in {path}; "
            f"ids in the file: {', '.join(state.ids[:20])}{' ...' if len(state.ids) > 20 else ''}"
        )
    normalise = _csv_read_back if fmt == "csv" else (lambda value: value)
    changed = [
        case_id for case_id, value in outputs.items() if not _same(state.raw[case_id].get("approved"), normalise(value))
    ]
    if not changed:
        return []
    updates = {case_id: outputs[case_id] for case_id in changed}
    expected = {
        case_id: _without_null_approved(
            {**data, "approved": normalise(updates[case_id])} if case_id in updates else data
        )
        for case_id, data in state.raw.items()
    }

    def verified(new_body: str) -> dict[str, dict[str, Any]] | None:
        """The new text's cases if it differs from the old one in the approved values only, else None."""
        try:
            new_raw = read_raw_cases(new_body, path, fmt)
            ids = [c.data.get("id") if isinstance(c.data, dict) else None for c in new_raw]
            if ids != state.ids:
                return None
            by_id = {c.data["id"]: c.data for c in new_raw}
            if any(_without_null_approved(by_id[i]) != expected[i] for i in state.ids):
                return None
            for case_id in changed:
                GoldenCase.model_validate(by_id[case_id])
        except (GoldenError, ValidationError):
            return None
        return by_id

    new_body = _EDITORS[fmt](body, updates)
    new_raw = verified(new_body)
    if new_raw is None and fmt == "yaml":
        new_body = _redump_yaml(body, updates)  # in-place edit went wrong: fall back to a full re-dump
        new_raw = verified(new_body)
    if new_raw is None:
        raise GoldenError(  # a bug in an editor, never the user's fault; nothing has been written
            f"internal error: rewriting {path} would change more than the approved values; file left untouched"
        )
    write_atomic(path, ((_BOM if bom else "") + new_body).encode("utf-8"))
    _known[key] = _KnownState(new_body, state.ids, new_raw)
    clear_cache(path)
    return changed


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON data (a tuple equals a list, 1 differs from 1.0 and from True)."""
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _csv_read_back(value: Any) -> Any:
    """The value a CSV ``approved`` cell written for ``value`` reads back as."""
    cell = _csv_cell(value)
    return _csv_json_or_text(cell, "approved", "{[") if cell.strip() else None


# ------------------------------------------------------------------------------------------------- JSON(L)
_WS = re.compile(r"[ \t\n\r]*")


def _set_approved(obj: dict[str, Any], value: Any) -> dict[str, Any]:
    out = dict(obj)
    out["approved"] = value  # keeps its place when present, goes last when new
    return out


def _json_object_edit(
    text: str, start: int, end: int, value: Any, indent: int | str | None, ensure_ascii: bool, newline: str
) -> str:
    """New text of the JSON object ``text[start:end]`` with its ``approved`` member set to ``value``.

    Only the ``approved`` value is written (or a member appended); every other byte is kept.
    """
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    members: list[tuple[str, int, int, int]] = []  # key, key start, value start, value end
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


def _edit_jsonl(text: str, updates: dict[str, Any]) -> str:
    lines = text.split("\n")
    needles = {json.dumps(case_id, ensure_ascii=flag) for case_id in updates for flag in (True, False)}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or not any(needle in stripped for needle in needles):
            continue  # cannot hold an updated id: no need to parse it
        obj = json.loads(stripped, object_pairs_hook=_no_duplicate_keys)
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


def _edit_json(text: str, updates: dict[str, Any]) -> str:
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
            dumped = json.dumps(_set_approved(case, updates[case["id"]]), indent=indent, ensure_ascii=ensure_ascii)
            pieces.append(dumped.replace("\n", newline + base))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


# ------------------------------------------------------------------------------------------------- YAML
def _yaml_dumper() -> type:
    import yaml

    class BlockStrDumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: Any, value: str) -> Any:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    BlockStrDumper.add_representer(str, represent_str)
    return BlockStrDumper


def _yaml_dump(value: Any, **kwargs: Any) -> str:
    import yaml

    kwargs.setdefault("width", 100)
    return yaml.dump(value, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True, **kwargs)


class _CannotEditInPlace(Exception):
    pass


def _edit_yaml(text: str, updates: dict[str, Any]) -> str:
    try:
        return _edit_yaml_in_place(text, updates)
    except _CannotEditInPlace:
        return _redump_yaml(text, updates)


def _redump_yaml(text: str, updates: dict[str, Any]) -> str:
    """Last resort: re-dump the whole document (comments are lost, data and order are kept)."""
    import yaml

    data = yaml.load(text, Loader=safe_loader_class())
    cases = data["cases"] if isinstance(data, dict) else data
    for index, case in enumerate(cases):
        if isinstance(case, dict) and case.get("id") in updates:
            cases[index] = _set_approved(case, updates[case["id"]])
    dumped = _yaml_dump(data, default_flow_style=False)
    newline = "\r\n" if "\r\n" in text else "\n"
    return dumped.replace("\n", newline)


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], first: int, column: int, dash_continues: bool) -> int:
    """Index after the last line of the block that starts on line ``first`` with its key at ``column``.

    Lines indented deeper than ``column`` belong to the block (and, when ``dash_continues``, ``- `` items at
    ``column`` too: YAML lets a block sequence sit at its key's indent); trailing blank and comment lines
    are left to what follows.
    """
    end = first + 1
    while end < len(lines):
        line = lines[end]
        if not _is_blank_or_comment(line):
            indent = _indent_of(line)
            continues = indent > column or (dash_continues and indent == column and line[indent:].startswith("-"))
            if not continues or (indent == 0 and line.startswith(("---", "..."))):
                break
        end += 1
    while end - 1 > first and _is_blank_or_comment(lines[end - 1]):
        end -= 1
    return end


def _edit_yaml_in_place(text: str, updates: dict[str, Any]) -> str:
    """Replace or append only the ``approved`` entry of each updated case; everything else is kept."""
    import yaml

    loader = safe_loader_class()(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root)
    finally:
        loader.dispose()
    seq = root
    if isinstance(root, yaml.MappingNode):
        seq = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cases"), None)
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        raise _CannotEditInPlace
    cases = data["cases"] if isinstance(data, dict) else data
    lines = csv_physical_lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, replacement lines)
    for node, case in zip(seq.value, cases, strict=False):
        if not (isinstance(case, dict) and case.get("id") in updates):
            continue
        value = updates[case["id"]]
        if not isinstance(node, yaml.MappingNode):
            raise _CannotEditInPlace
        if node.flow_style:  # `- {id: a, input: x}` on one line: re-emit that one mapping in flow style
            if node.start_mark.line != node.end_mark.line:
                raise _CannotEditInPlace
            line_no = node.start_mark.line
            line = lines[line_no]
            flow = _yaml_dump(_set_approved(case, value), default_flow_style=True, width=10**9).rstrip("\n")
            edits.append((line_no, line_no + 1, [line[: node.start_mark.column] + flow + line[node.end_mark.column :]]))
            continue
        column = node.start_mark.column
        entry = [
            " " * column + text_line + newline
            for text_line in _yaml_dump({"approved": value}, default_flow_style=False).rstrip("\n").split("\n")
        ]
        existing = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "approved"]
        if existing:
            key_node, value_node = existing[-1]
            if key_node.start_mark.column != column:
                raise _CannotEditInPlace
            first = key_node.start_mark.line
            end = _block_end(lines, first, column, isinstance(value_node, yaml.SequenceNode))
        else:
            last_key, last_value = node.value[-1]
            first = _block_end(lines, last_key.start_mark.line, column, isinstance(last_value, yaml.SequenceNode))
            end = first
        if end == len(lines) and not lines[-1].endswith(("\n", "\r")):  # no newline at end of file
            if existing:
                entry[-1] = entry[-1].rstrip("\r\n")
            else:
                lines[-1] += newline
                entry[-1] = entry[-1].rstrip("\r\n")
        edits.append((first, end, entry))
    for first, end, new_lines in sorted(edits, reverse=True):
        lines[first:end] = new_lines
    return "".join(lines)


# ------------------------------------------------------------------------------------------------- CSV
def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _edit_csv(text: str, updates: dict[str, Any]) -> str:
    lines = csv_physical_lines(text)
    records = list(csv_rows(text))
    header_start, header_end, header = records[0]
    names = [h.strip() for h in header]
    adding = "approved" not in names
    width = len(names) + (1 if adding else 0)
    approved_at = names.index("approved") if not adding else len(names)
    id_at = names.index("id")
    default_ending = "\r\n" if "\r\n" in text else "\n"
    out: list[str] = []

    def ending_of(index: int) -> str:
        match = re.search(r"(\r\n|\n|\r)$", lines[index])
        return match.group(1) if match else ""

    def write_row(cells: list[str], ending: str) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=ending).writerow(cells)
        return buffer.getvalue()

    position = 0  # next physical line index not yet copied
    for start, end, cells in records:
        first, last = start - 1, end - 1
        out.extend(lines[position:first])  # anything the reader skipped (none in practice)
        position = end
        original = "".join(lines[first : last + 1])
        ending = ending_of(last)
        if (start, end) == (header_start, header_end):
            out.append(original[: len(original) - len(ending)] + ",approved" + ending if adding else original)
            continue
        if not cells or all(not c.strip() for c in cells):
            out.append(original)
            continue
        case_id = cells[id_at].strip() if id_at < len(cells) else ""
        if case_id in updates:
            padded = cells + [""] * (width - len(cells))
            padded[approved_at] = _csv_cell(updates[case_id])
            out.append(write_row(padded, ending or ("" if last == len(lines) - 1 else default_ending)))
        elif adding:
            out.append(original[: len(original) - len(ending)] + "," * (width - len(cells)) + ending)
        else:
            out.append(original)
    out.extend(lines[position:])
    return "".join(out)


_EDITORS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "jsonl": _edit_jsonl,
    "json": _edit_json,
    "yaml": _edit_yaml,
    "csv": _edit_csv,
}
