"""Golden evaluation sets: cases with an input, optional expectations, tags and an approved output.

Supported files (UTF-8):

* ``.jsonl`` – one JSON object per line (blank lines are skipped);
* ``.json``  – a list of objects, or ``{"cases": [...]}``;
* ``.yaml`` / ``.yml`` – a list of mappings, or ``{cases: [...]}`` (safe loading: ``!!python/...`` is refused);
* ``.csv``   – a header row, one case per row.  ``tags``, ``contexts`` and ``relevant_ids`` cells are
  ``;``-separated or JSON arrays (``relevant_ids`` may also be a JSON object of graded relevance);
  ``metadata.<key>`` columns go into ``metadata``, ``input.<key>`` / ``expected.<key>`` columns build a
  mapping input / expectation; ``input``, ``expected`` and ``approved`` cells that hold a JSON object (or,
  for ``approved``, a JSON array) are read as JSON, any other cell as text.

Every case is validated (:class:`GoldenCase`); all problems in a file (up to :data:`MAX_REPORTED_ERRORS`)
are reported together in one :class:`~pytest_llmops.errors.GoldenError`, each as ``file:line: problem``.
"""

from __future__ import annotations

import bisect
import csv
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator

from ..common.canonical import content_digest
from ..common.numbers import is_finite
from ..errors import GoldenError
from .yaml_source import YamlSourceError, format_loc, load_yaml_with_lines

__all__ = ["GoldenCase", "GoldenError", "GoldenSet", "SUPPORTED_SUFFIXES", "clear_cache", "load_golden_set"]

SUPPORTED_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
CASE_FIELDS = ("id", "input", "expected", "contexts", "relevant_ids", "tags", "metadata", "approved")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
ID_MAX_LENGTH = 100
MAX_REPORTED_ERRORS = 20
CSV_LIST_COLUMNS = ("tags", "relevant_ids", "contexts")
CSV_PREFIX_COLUMNS = ("metadata.", "input.", "expected.")
CONTAINER_KEYS = ("cases", "description")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_json_like(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(
            f"{what} must hold plain JSON values (strings, numbers, bools, null, lists, mappings): {exc}"
        ) from None


class GoldenCase(BaseModel):
    """One case of a golden set.  Immutable; ``location`` / ``source_line`` tell where it was defined."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    input: Union[str, dict[str, Any]]
    expected: Optional[Union[str, dict[str, Any]]] = None
    contexts: Optional[list[str]] = None
    relevant_ids: Optional[Union[list[str], dict[str, Union[int, float]]]] = None
    tags: list[str] = []
    metadata: dict[str, Any] = {}
    approved: Any = None

    _source: str = PrivateAttr(default="")
    _source_line: int = PrivateAttr(default=0)
    _pointer: str = PrivateAttr(default="")

    # "before" validators: they give one clear message instead of pydantic's per-union-member errors, and
    # refuse the silent coercions (1 -> "1", true -> 1) that would hide a mistake in a golden file.
    @field_validator("id", mode="before")
    @classmethod
    def _id_safe(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {_type_name(value)} {value!r} (quote it)")
        if len(value) > ID_MAX_LENGTH:
            raise ValueError(f"is {len(value)} characters long; at most {ID_MAX_LENGTH} are allowed")
        if not ID_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not id-safe: start with a letter or digit and use only letters, digits and _ . : -"
            )
        return value

    @field_validator("input", "expected", mode="before")
    @classmethod
    def _text_or_mapping(cls, value: Any) -> Any:
        if value is None:
            return value  # 'input' is required: None is refused below by the str|dict type
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            bad = [k for k in value if not isinstance(k, str)]
            if bad:
                raise ValueError(f"mapping keys must be strings, got {bad[0]!r}")
            _check_json_like(value, "the mapping")
            return value
        raise ValueError(f"must be a string or a mapping, got {_type_name(value)} {value!r:.60}")

    @field_validator("contexts", "tags", mode="before")
    @classmethod
    def _string_list(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, list):
            raise ValueError(f"must be a list of strings, got {_type_name(value)} {value!r:.60}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"item [{index}] must be a string, got {_type_name(item)} {item!r:.60}")
        return value

    @field_validator("relevant_ids", mode="before")
    @classmethod
    def _relevance(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise ValueError(f"item [{index}] must be a string id, got {_type_name(item)} {item!r:.60}")
            return value
        if isinstance(value, dict):
            for key, grade in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"key {key!r} must be a string id")
                if not is_finite(grade):
                    raise ValueError(f"grade of {key!r} must be a finite number, got {grade!r}")
            return value
        raise ValueError(
            f"must be a list of ids or a mapping id -> graded relevance, got {_type_name(value)} {value!r:.60}"
        )

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping, got {_type_name(value)} {value!r:.60}")
        _check_json_like(value, "metadata")
        return value

    @field_validator("approved", mode="before")
    @classmethod
    def _approved(cls, value: Any) -> Any:
        _check_json_like(value, "approved")
        return value

    # -- location ---------------------------------------------------------------------------------------
    @property
    def source_line(self) -> int:
        """1-based line where the case starts in its file (CSV: the row's first line); 0 if unknown."""
        return self._source_line

    @property
    def pointer(self) -> str:
        """Where in the document the case is: ``cases[2]`` (JSON/YAML), ``line 7`` (JSONL), ``row 3`` (CSV)."""
        return self._pointer

    @property
    def location(self) -> str:
        """``file:line`` of the case, for messages."""
        return f"{self._source}:{self._source_line}" if self._source_line else self._source

    def data(self) -> dict[str, Any]:
        """The case as plain JSON-compatible builtins (every field, defaults included)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class GoldenSet:
    """A loaded golden file.  ``hash`` depends on the cases' data only, not on the file format/layout."""

    path: Path
    format: str
    cases: list[GoldenCase]
    hash: str
    _by_id: dict[str, GoldenCase] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({case.id: case for case in self.cases})

    @property
    def case_ids(self) -> list[str]:
        return [case.id for case in self.cases]

    @property
    def short_hash(self) -> str:
        return self.hash[:16]

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[GoldenCase]:
        return iter(self.cases)

    def get(self, case_id: str) -> GoldenCase:
        try:
            return self._by_id[case_id]
        except KeyError:
            known = ", ".join(self.case_ids[:20]) + (" ..." if len(self.cases) > 20 else "")
            raise GoldenError(f"golden set {self.path} has no case {case_id!r}; ids: {known}") from None

    def tags(self) -> list[str]:
        """Every tag used in the set, sorted."""
        return sorted({tag for case in self.cases for tag in case.tags})

    def select(self, tags: str | Iterable[str] | None = None, limit: int | None = None) -> list[GoldenCase]:
        """Cases carrying any of ``tags`` (all cases when ``None``), in file order, at most ``limit``."""
        if isinstance(tags, str):
            wanted: set[str] | None = {tags}
        else:
            wanted = None if tags is None else set(tags)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise GoldenError(f"limit must be a non-negative integer, got {limit!r}")
        chosen = [c for c in self.cases if wanted is None or wanted.intersection(c.tags)]
        return chosen if limit is None else chosen[:limit]

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "hash": self.hash, "cases": len(self.cases)}


# ------------------------------------------------------------------------------------------------ raw cases
@dataclass
class _RawCase:
    data: Any
    line: int
    pointer: str
    line_of: Optional[Callable[[str], int]] = None  # field path -> line (YAML only)


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, line: int | None, text: str) -> None:
        where = f"{self.path}:{line}" if line else str(self.path)
        self.items.append(f"{where}: {text}")

    def raise_if_any(self, what: str = "invalid golden set") -> None:
        if not self.items:
            return
        shown = self.items[:MAX_REPORTED_ERRORS]
        more = len(self.items) - len(shown)
        text = f"{what} {self.path} ({len(self.items)} problem{'s' if len(self.items) != 1 else ''}):\n"
        text += "\n".join(f"  {item}" for item in shown)
        if more:
            text += f"\n  ... and {more} more"
        text += "\nFix the file and run again."
        raise GoldenError(text)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
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
_TOO_DEEP = "the value is nested too deeply (hundreds of levels of lists/objects); flatten it"


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


def _container_cases(data: Any, path: Path, line: int, problems: _Problems) -> list[Any] | None:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        unknown = [k for k in data if k not in CONTAINER_KEYS]
        if unknown:
            problems.add(line, f"unknown top-level key {unknown[0]!r}; allowed: {', '.join(CONTAINER_KEYS)}")
            return None
        cases = data.get("cases")
        if not isinstance(cases, list):
            problems.add(line, f"'cases' must be a list of case objects, got {_type_name(cases)}")
            return None
        return cases
    problems.add(line, f"expected a list of cases or a mapping with 'cases', got {_type_name(data)}")
    return None


def _read_jsonl(text: str, path: Path, problems: _Problems) -> list[_RawCase]:
    raw = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            data = json.loads(stripped, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            problems.add(number, f"invalid JSON (column {exc.colno}): {exc.msg}")
            continue
        except ValueError as exc:
            problems.add(number, f"invalid JSON: {exc}")
            continue
        except RecursionError:
            problems.add(number, f"invalid JSON: {_TOO_DEEP}")
            continue
        raw.append(_RawCase(data, number, f"line {number}"))
    return raw


def _read_json(text: str, path: Path, problems: _Problems) -> list[_RawCase]:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, f"invalid JSON (column {exc.colno}): {exc.msg}")
        return []
    except ValueError as exc:
        problems.add(None, f"invalid JSON: {exc}")
        return []
    except RecursionError:
        problems.add(None, f"invalid JSON: {_TOO_DEEP}")
        return []
    cases = _container_cases(data, path, 1, problems)
    if cases is None:
        return []
    line_of = _line_index(text)
    spans = json_case_spans(text)
    prefix = "cases" if isinstance(data, dict) else ""
    return [
        _RawCase(case, line_of(spans[i][0]) if i < len(spans) else 0, f"{prefix}[{i}]") for i, case in enumerate(cases)
    ]


def _read_yaml(text: str, path: Path, problems: _Problems) -> list[_RawCase]:
    try:
        doc = load_yaml_with_lines(text)
    except YamlSourceError as exc:
        problems.add(exc.line, f"invalid YAML (column {exc.column}): {exc.problem}" if exc.line else exc.problem)
        return []
    if doc.data is None:
        return []
    cases = _container_cases(doc.data, path, doc.line_of(""), problems)
    if cases is None:
        return []
    prefix = "cases" if isinstance(doc.data, dict) else ""
    raw = []
    for i, case in enumerate(cases):
        pointer = f"{prefix}[{i}]"
        raw.append(_RawCase(case, doc.line_of(pointer), pointer, lambda loc, p=pointer: doc.line_of(f"{p}.{loc}")))
    return raw


def _csv_json_or_text(cell: str, column: str, openers: str) -> Any:
    stripped = cell.strip()
    if stripped[:1] and stripped[0] in openers:
        try:
            return json.loads(stripped)
        except RecursionError:
            raise ValueError(f"column {column!r}: {_TOO_DEEP}") from None
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
        return _csv_json_or_text(stripped, column, "[{")
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
                case[column] = _csv_json_or_text(cell, column, "{")
        elif column == "approved":
            if cell.strip():
                case[column] = _csv_json_or_text(cell, column, "{[")
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


def _read_csv(text: str, path: Path, problems: _Problems) -> list[_RawCase]:
    rows = csv_rows(text)
    try:
        first = next(rows, None)
        if first is None:
            return []
        header_line, _, header = first
        header = [h.strip() for h in header]
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
        if problems.items:
            return []
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
            raw.append(_RawCase(data, start, f"row {len(raw) + 1}"))
        return raw
    except csv.Error as exc:
        problems.add(None, f"invalid CSV: {exc}")
        return []


_READERS: dict[str, Callable[[str, Path, _Problems], list[_RawCase]]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "yaml": _read_yaml,
    "csv": _read_csv,
}


def _describe_error(err: dict[str, Any]) -> tuple[str, str]:
    """(field path, problem) for one pydantic error, in words a golden-file author understands."""
    loc = tuple(err.get("loc", ()))
    field_path = format_loc(loc)
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return field_path, f"unknown field {field_path!r}; allowed fields: {', '.join(CASE_FIELDS)}"
    if kind == "missing":
        what = "every case needs a unique id" if field_path == "id" else "this field is required"
        return field_path, f"field {field_path!r} is missing ({what})"
    message = str(err.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if kind in ("string_type", "dict_type", "list_type", "model_type"):
        message += f", got {_type_name(err.get('input'))} {err.get('input')!r:.60}"
    return field_path, f"field {field_path!r} {message}" if message[
        :1
    ].islower() else f"field {field_path!r}: {message}"


def _validate(raw: list[_RawCase], path: Path, problems: _Problems) -> list[GoldenCase]:
    cases: list[GoldenCase] = []
    first_line: dict[str, int] = {}
    for item in raw:
        if not isinstance(item.data, dict):
            problems.add(item.line, f"a case must be an object/mapping, got {_type_name(item.data)} {item.data!r:.60}")
            continue
        try:
            case = GoldenCase.model_validate(item.data)
        except ValidationError as exc:
            for err in exc.errors():
                field_path, problem = _describe_error(err)
                line = item.line_of(field_path) if item.line_of and field_path else item.line
                problems.add(line or item.line, problem)
            continue
        case._source = str(path)
        case._source_line = item.line
        case._pointer = item.pointer
        if case.id in first_line:
            problems.add(
                item.line, f"duplicate id {case.id!r} (first used on line {first_line[case.id]}); ids must be unique"
            )
            continue
        first_line[case.id] = item.line
        cases.append(case)
    return cases


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise GoldenError(
            f"golden set {path} does not exist; check the path (relative paths start at rootdir)"
        ) from None
    except IsADirectoryError:
        raise GoldenError(f"golden set {path} is a directory; point at a .jsonl/.json/.yaml/.csv file") from None
    except UnicodeDecodeError as exc:
        raise GoldenError(f"golden set {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise GoldenError(f"cannot read golden set {path}: {exc}") from None


def golden_format(path: Path) -> str:
    fmt = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GoldenError(
            f"golden set {path}: unsupported file extension {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    return fmt


def read_raw_cases(text: str, path: Path, fmt: str) -> list[_RawCase]:
    """The cases' plain data as written in the file, before validation (GoldenError on a parse problem)."""
    problems = _Problems(path)
    try:
        raw = _READERS[fmt](text, path, problems)
    except RecursionError:
        raise GoldenError(f"golden set {path}: {_TOO_DEEP}") from None
    problems.raise_if_any()
    return raw


def parse_golden_with_raw(text: str, path: Path, fmt: str) -> tuple[GoldenSet, list[_RawCase]]:
    """Parse and validate golden-set text (no caching); raises :class:`GoldenError` listing every problem."""
    problems = _Problems(path)
    try:
        raw = _READERS[fmt](text, path, problems)
        cases = _validate(raw, path, problems)
        problems.raise_if_any()
        if not cases:
            raise GoldenError(f"golden set {path} has no cases; add at least one case")
    except RecursionError:  # a value a few hundred levels deep that the parser still accepted
        raise GoldenError(f"golden set {path}: {_TOO_DEEP}") from None
    try:
        digest = content_digest([case.data() for case in cases])
    except (RecursionError, ValueError):  # pydantic: "Maximum serialization depth exceeded"
        raise GoldenError(f"golden set {path}: {_TOO_DEEP}") from None
    return GoldenSet(path, fmt, cases, digest), raw


def parse_golden_text(text: str, path: Path, fmt: str) -> GoldenSet:
    """Parse and validate golden-set text (no caching); raises :class:`GoldenError` listing every problem."""
    return parse_golden_with_raw(text, path, fmt)[0]


_cache: dict[Path, tuple[tuple[int, int], GoldenSet]] = {}
_cache_lock = threading.Lock()


def load_golden_set(path: Path | str) -> GoldenSet:
    """Load, validate and cache (by path, mtime and size) a golden set."""
    path = Path(path)
    fmt = golden_format(path)
    try:
        stat = path.stat()
        key = (path.resolve(), (stat.st_mtime_ns, stat.st_size))
    except OSError:
        key = None
    if key is not None:
        with _cache_lock:
            hit = _cache.get(key[0])
        if hit is not None and hit[0] == key[1] and hit[1].path == path:
            return hit[1]
    golden = parse_golden_text(_read_text(path), path, fmt)
    if key is not None:
        with _cache_lock:
            _cache[key[0]] = (key[1], golden)
    return golden


def clear_cache(path: Path | str | None = None) -> None:
    """Forget cached golden sets (all, or the one at ``path``)."""
    with _cache_lock:
        if path is None:
            _cache.clear()
        else:
            _cache.pop(Path(path).resolve(), None)
