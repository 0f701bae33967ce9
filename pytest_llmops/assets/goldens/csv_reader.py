"""Reading golden cases from CSV: one case per row, list/prefixed columns, JSON cells, ``file:line`` errors."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .models import CASE_FIELDS
from .raw import TOO_DEEP, Problems, RawCase

CSV_LIST_COLUMNS = ("tags", "relevant_ids", "contexts")
CSV_PREFIX_COLUMNS = ("metadata.", "input.", "expected.")


def csv_json_or_text(cell: str, column: str, openers: str) -> Any:
    """The cell as JSON when it starts with one of ``openers`` and parses, else as text."""
    stripped = cell.strip()
    if stripped[:1] and stripped[0] in openers:
        try:
            return json.loads(stripped)
        except RecursionError:
            raise ValueError(f"column {column!r}: {TOO_DEEP}") from None
        except ValueError:
            if column in CSV_LIST_COLUMNS:
                raise ValueError(
                    f"column {column!r}: cell starts like JSON but is not valid JSON: {stripped!r:.60}"
                ) from None
    return cell


def _csv_list(cell: str, column: str) -> Any:
    stripped = cell.strip()
    if not stripped:
        return None
    if stripped[0] in "[{":
        return csv_json_or_text(stripped, column, "[{")
    return [part.strip() for part in stripped.split(";") if part.strip()]


def _csv_row_to_case(header: list[str], cells: list[str]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"metadata": {}, "input": {}, "expected": {}}
    for column, cell in zip(header, cells, strict=True):
        if column == "id":
            case["id"] = cell.strip()
        elif column in CSV_LIST_COLUMNS:
            value = _csv_list(cell, column)
            if value is not None:
                case[column] = value
        elif column in ("input", "expected"):
            if cell.strip() or column == "input":
                case[column] = csv_json_or_text(cell, column, "{")
        elif column == "approved":
            if cell.strip():
                case[column] = csv_json_or_text(cell, column, "{[")
        else:
            prefix, _, key = column.partition(".")
            if cell.strip() or prefix == "input":
                nested[prefix][key] = cell
    for prefix, values in nested.items():
        if values:
            case[prefix] = values
    return case


def csv_physical_lines(text: str) -> list[str]:
    """Split text into lines keeping each line's own ending (``\\r\\n``, ``\\n`` or ``\\r``)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$", text)


def csv_rows(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """``(first_line, last_line, cells)`` for every CSV record, 1-based lines (quoted cells may span lines)."""
    reader = csv.reader(csv_physical_lines(text), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        yield start, reader.line_num, cells


def _check_header(header: list[str], header_line: int, problems: Problems) -> None:
    allowed = set(CASE_FIELDS) - {"metadata"}
    for column in header:
        if column in allowed or (column.startswith(CSV_PREFIX_COLUMNS) and column.partition(".")[2]):
            continue
        problems.add(
            header_line,
            f"unknown column {column!r}; allowed: {', '.join(sorted(allowed))}, metadata.<key>, "
            "input.<key>, expected.<key>",
        )
    duplicates = sorted({c for c in header if header.count(c) > 1})
    if duplicates:
        problems.add(header_line, f"column {duplicates[0]!r} appears more than once in the header")
    if "id" not in header:
        problems.add(header_line, f"the header has no 'id' column (header: {', '.join(header)}); add one")
    has_input_columns = any(c.startswith("input.") for c in header)
    if "input" not in header and not has_input_columns:
        problems.add(header_line, f"the header has no 'input' column (header: {', '.join(header)}); add one")
    if "input" in header and has_input_columns:
        problems.add(header_line, "use either an 'input' column or 'input.<key>' columns, not both")
    if any(c.startswith("expected.") for c in header) and "expected" in header:
        problems.add(header_line, "use either an 'expected' column or 'expected.<key>' columns, not both")


def _read_rows(rows: Iterator[tuple[int, int, list[str]]], header: list[str], problems: Problems) -> list[RawCase]:
    raw = []
    for start, _end, cells in rows:
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.add(start, f"the row has {len(cells)} cells but the header has {len(header)} columns")
            continue
        cells = cells + [""] * (len(header) - len(cells))
        try:
            data = _csv_row_to_case(header, cells)
        except ValueError as exc:
            problems.add(start, str(exc))
            continue
        raw.append(RawCase(data, start, f"row {len(raw) + 1}"))
    return raw


def read_csv(text: str, path: Path, problems: Problems) -> list[RawCase]:
    """The cases of a CSV golden file (a header row, one case per row)."""
    rows = csv_rows(text)
    try:
        first = next(rows, None)
        if first is None:
            return []
        header_line, _, header = first
        header = [h.strip() for h in header]
        _check_header(header, header_line, problems)
        if problems.items:
            return []
        return _read_rows(rows, header, problems)
    except csv.Error as exc:
        problems.add(None, f"invalid CSV: {exc}")
        return []
