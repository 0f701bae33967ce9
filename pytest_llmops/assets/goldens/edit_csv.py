"""Edits of the ``approved`` cell of cases in CSV golden files (an ``approved`` column is added if missing)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from .csv_reader import csv_json_or_text, csv_physical_lines, csv_rows


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def csv_read_back(value: Any) -> Any:
    """The value a CSV ``approved`` cell written for ``value`` reads back as."""
    cell = _csv_cell(value)
    return csv_json_or_text(cell, "approved", "{[") if cell.strip() else None


def _ending_of(line: str) -> str:
    match = re.search(r"(\r\n|\n|\r)$", line)
    return match.group(1) if match else ""


def _write_row(cells: list[str], ending: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerow(cells)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Columns:
    """Where the ``id`` and ``approved`` cells are, and how many cells a row has after the edit."""

    id_at: int
    approved_at: int
    width: int
    adding: bool  # the ``approved`` column is new


def _edit_row(
    cells: list[str], original: str, endings: tuple[str, str], columns: _Columns, updates: dict[str, Any]
) -> str:
    """New text of one data row: ``original`` ends in ``endings[0]``; a re-written row ends in ``endings[1]``."""
    if not cells or all(not c.strip() for c in cells):
        return original
    ending, new_ending = endings
    case_id = cells[columns.id_at].strip() if columns.id_at < len(cells) else ""
    if case_id in updates:
        padded = cells + [""] * (columns.width - len(cells))
        padded[columns.approved_at] = _csv_cell(updates[case_id])
        return _write_row(padded, new_ending)
    if columns.adding:
        return original[: len(original) - len(ending)] + "," * (columns.width - len(cells)) + ending
    return original


def edit_csv(text: str, updates: dict[str, Any]) -> str:
    """Unchanged rows keep their exact text (plus an empty cell when the column is new); changed rows are
    re-written with :mod:`csv`'s minimal quoting."""
    lines = csv_physical_lines(text)
    records = list(csv_rows(text))
    header_start, header_end, header = records[0]
    names = [h.strip() for h in header]
    adding = "approved" not in names
    columns = _Columns(
        id_at=names.index("id"),
        approved_at=names.index("approved") if not adding else len(names),
        width=len(names) + (1 if adding else 0),
        adding=adding,
    )
    default_ending = "\r\n" if "\r\n" in text else "\n"
    out: list[str] = []
    position = 0  # next physical line index not yet copied
    for start, end, cells in records:
        first, last = start - 1, end - 1
        out.extend(lines[position:first])  # anything the reader skipped (none in practice)
        position = end
        original = "".join(lines[first : last + 1])
        ending = _ending_of(lines[last])
        if (start, end) == (header_start, header_end):
            out.append(original[: len(original) - len(ending)] + ",approved" + ending if adding else original)
            continue
        new_ending = ending or ("" if last == len(lines) - 1 else default_ending)
        out.append(_edit_row(cells, original, (ending, new_ending), columns, updates))
    out.extend(lines[position:])
    return "".join(out)
