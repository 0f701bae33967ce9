"""Reading golden cases from JSONL, JSON, YAML and CSV text, every problem reported as ``file:line``."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...errors import GoldenError
from ..yaml_source import YamlSourceError, load_yaml_with_lines
from .csv_reader import read_csv
from .models import type_name
from .raw import TOO_DEEP, Problems, RawCase

SUPPORTED_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
CONTAINER_KEYS = ("cases", "description")


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :func:`json.loads` that refuses a key repeated in one object."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in one object")
        out[key] = value
    return out


def _line_index(text: str) -> Callable[[int], int]:
    starts = [m.end() for m in re.finditer("\n", text)]
    return lambda offset: bisect.bisect_right(starts, offset) + 1


_WS = re.compile(r"[ \t\n\r]*")


def json_case_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of each case object of a *valid* golden JSON document."""
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    def array(i: int) -> list[tuple[int, int]]:
        spans = []
        i = ws(i + 1)
        while text[i] != "]":
            _, end = decoder.raw_decode(text, i)
            spans.append((i, end))
            i = ws(end)
            if text[i] == ",":
                i = ws(i + 1)
        return spans

    i = ws(0)
    if text[i] == "[":
        return array(i)
    spans: list[tuple[int, int]] = []
    if text[i] == "{":
        i = ws(i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = ws(ws(i) + 1)  # past ':'
            if key == "cases" and text[i] == "[":
                spans = array(i)
            _, i = decoder.raw_decode(text, i)
            i = ws(i)
            if text[i] == ",":
                i = ws(i + 1)
    return spans


def _container_cases(data: Any, line: int, problems: Problems) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        unknown = [k for k in data if k not in CONTAINER_KEYS]
        if unknown:
            problems.add(line, f"unknown top-level key {unknown[0]!r}; allowed: {', '.join(CONTAINER_KEYS)}")
            return None
        cases = data.get("cases")
        if not isinstance(cases, list):
            problems.add(line, f"'cases' must be a list of case objects, got {type_name(cases)}")
            return None
        return cases
    problems.add(line, f"expected a list of cases or a mapping with 'cases', got {type_name(data)}")
    return None


def _read_jsonl(text: str, path: Path, problems: Problems) -> list[RawCase]:
    raw = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            data = json.loads(stripped, object_pairs_hook=no_duplicate_keys)
        except json.JSONDecodeError as exc:
            problems.add(number, f"invalid JSON (column {exc.colno}): {exc.msg}")
            continue
        except ValueError as exc:
            problems.add(number, f"invalid JSON: {exc}")
            continue
        except RecursionError:
            problems.add(number, f"invalid JSON: {TOO_DEEP}")
            continue
        raw.append(RawCase(data, number, f"line {number}"))
    return raw


def _read_json(text: str, path: Path, problems: Problems) -> list[RawCase]:
    try:
        data = json.loads(text, object_pairs_hook=no_duplicate_keys)
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, f"invalid JSON (column {exc.colno}): {exc.msg}")
        return []
    except ValueError as exc:
        problems.add(None, f"invalid JSON: {exc}")
        return []
    except RecursionError:
        problems.add(None, f"invalid JSON: {TOO_DEEP}")
        return []
    cases = _container_cases(data, 1, problems)
    if cases is None:
        return []
    line_of = _line_index(text)
    spans = json_case_spans(text)
    prefix = "cases" if isinstance(data, dict) else ""
    return [
        RawCase(case, line_of(spans[i][0]) if i < len(spans) else 0, f"{prefix}[{i}]") for i, case in enumerate(cases)
    ]


def _read_yaml(text: str, path: Path, problems: Problems) -> list[RawCase]:
    try:
        doc = load_yaml_with_lines(text)
    except YamlSourceError as exc:
        problems.add(exc.line, f"invalid YAML (column {exc.column}): {exc.problem}" if exc.line else exc.problem)
        return []
    if doc.data is None:
        return []
    cases = _container_cases(doc.data, doc.line_of(""), problems)
    if cases is None:
        return []
    prefix = "cases" if isinstance(doc.data, dict) else ""
    raw = []
    for i, case in enumerate(cases):
        pointer = f"{prefix}[{i}]"
        raw.append(RawCase(case, doc.line_of(pointer), pointer, lambda loc, p=pointer: doc.line_of(f"{p}.{loc}")))
    return raw


READERS: dict[str, Callable[[str, Path, Problems], list[RawCase]]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "yaml": _read_yaml,
    "csv": read_csv,
}


def golden_format(path: Path) -> str:
    """The format name (``jsonl``, ``json``, ``yaml``, ``csv``) of a golden file, from its extension."""
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GoldenError(
            f"golden set {path}: unsupported file extension {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return fmt


def read_raw_cases(text: str, path: Path, fmt: str) -> list[RawCase]:
    """The cases' plain data as written in the file, before validation (GoldenError on a parse problem)."""
    problems = Problems(path)
    try:
        raw = READERS[fmt](text, path, problems)
    except RecursionError:
        raise GoldenError(f"golden set {path}: {TOO_DEEP}") from None
    problems.raise_if_any()
    return raw
