"""Human label files for auditing the LLM judge: JSONL / YAML / CSV items validated with ``file:line`` errors.

One item is a judged output (``output``; or ``a`` and ``b`` for a pairwise criterion), the ``criterion`` it
was judged on, and one or more human labels: a score on the judge's scale (``scale``, default 1-5), pass/fail
(``true``/``false`` or ``"pass"``/``"fail"``), or a preference (``"a"``, ``"b"``, ``"tie"``).  Labels are
written as ``label: 4`` (optionally with ``labeller: ana``), as ``labels: {ana: 4, ben: 3}``, or as a list
``labels: [4, 3]``.  Optional: ``case_id`` (the golden case the output answers), ``reference``, ``context``
(text or list of texts), ``tags``, ``metadata``.

Formats: ``.jsonl`` (one object per line), ``.yaml``/``.yml`` (a list, or ``{items: [...]}``) and ``.csv``
(header row; ``label`` + ``labeller`` columns or one ``label.<labeller>`` column per person; ``context`` and
``tags`` cells ``;``-separated or JSON arrays; ``scale`` as ``1-5``).  Every problem of a file is reported at
once as a :class:`~pytest_llmops.errors.GoldenError` listing ``file:line: problem`` lines, like golden sets
(the readers and the problem collector are the golden sets' own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator, model_validator

from ..common.canonical import content_digest
from ..errors import GoldenError
from .goldens.csv_reader import csv_json_or_text, csv_rows
from .goldens.models import ID_PATTERN, type_name
from .goldens.raw import Problems, RawCase
from .goldens.readers import READERS
from .yaml_source import YamlSourceError, format_loc, load_yaml_with_lines

LABEL_SUFFIXES = {".jsonl": "jsonl", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}
ITEM_FIELDS = ("id", "criterion", "output", "a", "b", "case_id", "reference", "context", "scale", "label",
               "labeller", "labels", "tags", "metadata")
PREFERENCES = ("a", "b", "tie")
DEFAULT_SCALE = (1, 5)
_PASS_WORDS = {"pass": True, "fail": False}

Label = Union[int, bool, str]


def _label_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "pass_fail"
    if isinstance(value, int):
        return "score"
    if isinstance(value, str) and value in PREFERENCES:
        return "preference"
    if isinstance(value, str) and value in _PASS_WORDS:
        return "pass_fail"
    raise ValueError(
        f"label {value!r} is neither a score (integer), pass/fail (true/false, \"pass\"/\"fail\") nor a "
        "preference (\"a\", \"b\", \"tie\")"
    )


def _normalize_labels(data: dict[str, Any]) -> dict[str, Any]:
    """``label``/``labeller`` or a list of labels become the ``labels`` mapping labeller -> value."""
    data = dict(data)
    single, labeller, many = data.pop("label", None), data.pop("labeller", None), data.get("labels")
    if single is not None and many is not None:
        raise ValueError("give either 'label' (with an optional 'labeller') or 'labels', not both")
    if single is not None:
        if labeller is not None and not isinstance(labeller, str):
            raise ValueError(f"'labeller' must be a name (string), got {type_name(labeller)}")
        data["labels"] = {labeller or "labeller": single}
    elif isinstance(many, list):
        data["labels"] = {f"labeller-{index}": value for index, value in enumerate(many, 1)}
    elif labeller is not None:
        raise ValueError("'labeller' without 'label'")
    return data


class LabelItem(BaseModel):
    """One labelled judge input.  ``kind`` is ``score``, ``pass_fail`` or ``preference``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    criterion: str
    output: Optional[str] = None
    a: Optional[str] = None
    b: Optional[str] = None
    case_id: Optional[str] = None
    reference: Optional[str] = None
    context: Optional[Union[str, list[str]]] = None
    scale: tuple[int, int] = DEFAULT_SCALE
    labels: dict[str, Label]
    tags: list[str] = []
    metadata: dict[str, Any] = {}

    _source_line: int = PrivateAttr(default=0)

    @model_validator(mode="before")
    @classmethod
    def _labels_forms(cls, data: Any) -> Any:
        return _normalize_labels(data) if isinstance(data, dict) else data

    @field_validator("id", mode="before")
    @classmethod
    def _id_safe(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not ID_PATTERN.match(value) or len(value) > 100:
            raise ValueError(f"{value!r} is not id-safe: start with a letter or digit; use letters, digits, _ . : -")
        return value

    @field_validator("criterion", mode="before")
    @classmethod
    def _criterion(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be a non-empty string, got {type_name(value)} {value!r:.60}")
        return value

    @field_validator("scale", mode="before")
    @classmethod
    def _scale(cls, value: Any) -> Any:
        if isinstance(value, str) and "-" in value.strip()[1:]:
            low, _, high = value.strip().partition("-")
            value = [low.strip(), high.strip()]
        try:
            low, high = (int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"must be two integers [low, high] such as [1, 5], got {value!r:.60}") from None
        if not low < high or high - low > 100:
            raise ValueError(f"needs low < high (at most 100 apart), got [{low}, {high}]")
        return (low, high)

    @field_validator("labels", mode="before")
    @classmethod
    def _label_values(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ValueError(f"must hold at least one label, got {type_name(value)} {value!r:.60}")
        kinds = {_label_kind(v) for v in value.values()}
        if len(kinds) > 1:
            raise ValueError(f"mixes label kinds ({', '.join(sorted(kinds))}); one item has labels of one kind")
        return {str(k): _PASS_WORDS.get(v, v) if isinstance(v, str) else v for k, v in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> LabelItem:
        kind = self.kind
        if kind == "preference" and (self.a is None or self.b is None or self.output is not None):
            raise ValueError("a preference label needs the two outputs 'a' and 'b' (and no 'output')")
        if kind != "preference" and (self.output is None or self.a is not None or self.b is not None):
            raise ValueError(f"a {kind.replace('_', '/')} label needs 'output' (and no 'a'/'b')")
        low, high = self.scale
        bad = [v for v in self.labels.values() if kind == "score" and not low <= int(v) <= high]
        if bad:
            raise ValueError(f"score {bad[0]} is off the scale {low}-{high}")
        return self

    @property
    def kind(self) -> str:
        return _label_kind(next(iter(self.labels.values())))

    @property
    def source_line(self) -> int:
        return self._source_line

    @property
    def contexts(self) -> list[str]:
        return [] if self.context is None else [self.context] if isinstance(self.context, str) else list(self.context)

    def consensus(self) -> Any:
        """The humans' label: the median score (lower middle on ties), else the majority (first seen on ties)."""
        values = list(self.labels.values())
        if self.kind == "score":
            return sorted(values)[(len(values) - 1) // 2]
        return max(values, key=values.count)


@dataclass(frozen=True)
class LabelSet:
    """A loaded label file.  ``hash`` depends on the items only, not on the file format."""

    path: Path
    format: str
    items: list[LabelItem]
    hash: str

    def __len__(self) -> int:
        return len(self.items)

    def criteria(self) -> list[str]:
        return list(dict.fromkeys(item.criterion for item in self.items))

    def labellers(self) -> list[str]:
        return sorted({name for item in self.items for name in item.labels})

    def select(self, criteria: str | list[str] | tuple[str, ...] | None = None,
               tags: str | list[str] | tuple[str, ...] | None = None) -> dict[str, list[LabelItem]]:
        """Items by criterion (every criterion of the file when ``criteria`` is None), only those carrying one of
        ``tags`` when given; GoldenError for an unknown criterion or a selection without items."""
        wanted = self.criteria() if criteria is None else [criteria] if isinstance(criteria, str) else list(criteria)
        unknown = [c for c in wanted if c not in self.criteria()]
        if unknown:
            raise GoldenError(f"label file {self.path} has no items for criterion {unknown[0]!r}; it labels: "
                              + "; ".join(repr(c) for c in self.criteria()))
        chosen = {tags} if isinstance(tags, str) else None if tags is None else set(tags)
        selected = {c: [item for item in self.items if item.criterion == c
                        and (chosen is None or chosen.intersection(item.tags))] for c in wanted}
        empty = [c for c, items in selected.items() if not items]
        if empty:
            raise GoldenError(f"label file {self.path} has no items for criterion {empty[0]!r} "
                              f"with tags {sorted(chosen or [])}")
        return selected


# -- readers -------------------------------------------------------------------------------------------------


def _read_yaml(text: str, path: Path, problems: Problems) -> list[RawCase]:
    try:
        doc = load_yaml_with_lines(text)
    except YamlSourceError as exc:
        problems.add(exc.line, f"invalid YAML (column {exc.column}): {exc.problem}" if exc.line else exc.problem)
        return []
    data, prefix = doc.data, ""
    if isinstance(data, dict) and set(data) <= {"items", "description"}:
        data, prefix = data.get("items"), "items"
    if data is None:
        return []
    if not isinstance(data, list):
        problems.add(doc.line_of(""), f"expected a list of items or a mapping with 'items', got {type_name(data)}")
        return []
    return [
        RawCase(item, doc.line_of(f"{prefix}[{i}]"), f"{prefix}[{i}]",
                lambda loc, p=f"{prefix}[{i}]": doc.line_of(f"{p}.{loc}"))
        for i, item in enumerate(data)
    ]


def _csv_cell(column: str, cell: str) -> tuple[str, Any] | None:
    """(field, value) of one CSV cell, or None for an empty optional cell."""
    if not cell.strip():
        return None
    if column.startswith("label."):
        return column, _csv_label(cell)
    if column == "label":
        return column, _csv_label(cell)
    if column in ("context", "tags"):
        value = csv_json_or_text(cell, column, "[")
        return column, value if not isinstance(value, str) else [p.strip() for p in value.split(";") if p.strip()]
    return column, cell


def _csv_label(cell: str) -> Any:
    text = cell.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        return text


def _read_csv(text: str, path: Path, problems: Problems) -> list[RawCase]:
    import csv  # noqa: PLC0415

    rows = csv_rows(text)
    try:
        first = next(rows, None)
        if first is None:
            return []
        header = [h.strip() for h in first[2]]
        allowed = set(ITEM_FIELDS) - {"labels", "metadata"}
        for column in header:
            if column not in allowed and not column.startswith(("label.", "metadata.")):
                problems.add(first[0], f"unknown column {column!r}; allowed: {', '.join(sorted(allowed))}, "
                                       "label.<labeller>, metadata.<key>")
        if problems.items:
            return []
        raw = []
        for start, _end, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                problems.add(start, f"the row has {len(cells)} cells but the header has {len(header)} columns")
                continue
            raw.append(RawCase(_csv_item(header, cells), start, f"row {len(raw) + 1}"))
        return raw
    except (csv.Error, ValueError) as exc:
        problems.add(None, f"invalid CSV: {exc}")
        return []


def _csv_item(header: list[str], cells: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=False):
        parsed = _csv_cell(column, cell)
        if parsed is None:
            continue
        key, value = parsed
        if key.startswith("label."):
            item.setdefault("labels", {})[key.partition(".")[2]] = value
        elif key.startswith("metadata."):
            item.setdefault("metadata", {})[key.partition(".")[2]] = value
        else:
            item[key] = value
    return item


_READERS = {"jsonl": READERS["jsonl"], "yaml": _read_yaml, "csv": _read_csv}


# -- validation and loading ----------------------------------------------------------------------------------


def _problem_text(err: dict[str, Any]) -> tuple[str, str]:
    field_path = format_loc(tuple(err.get("loc", ())))
    kind = err.get("type", "")
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return field_path, f"unknown field {field_path!r}; allowed fields: {', '.join(ITEM_FIELDS)}"
    if kind == "missing":
        return field_path, f"field {field_path!r} is missing"
    return field_path, f"field {field_path!r}: {message}" if field_path else message


def validate_items(raw: list[RawCase], problems: Problems) -> list[LabelItem]:
    items: list[LabelItem] = []
    first_line: dict[str, int] = {}
    for case in raw:
        if not isinstance(case.data, dict):
            problems.add(case.line, f"an item must be an object/mapping, got {type_name(case.data)}")
            continue
        try:
            item = LabelItem.model_validate(case.data)
        except ValidationError as exc:
            for err in exc.errors():
                field_path, problem = _problem_text(err)
                line = case.line_of(field_path) if case.line_of and field_path else case.line
                problems.add(line or case.line, problem)
            continue
        except ValueError as exc:  # raised by the 'before' model validator outside pydantic's error list
            problems.add(case.line, str(exc))
            continue
        if item.id in first_line:
            problems.add(case.line, f"duplicate id {item.id!r} (first used on line {first_line[item.id]})")
            continue
        item._source_line = case.line
        first_line[item.id] = case.line
        items.append(item)
    return items


def label_format(path: Path) -> str:
    fmt = LABEL_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise GoldenError(f"label file {path}: unsupported extension {path.suffix or '(none)'!r}; "
                          f"supported: {', '.join(LABEL_SUFFIXES)}")
    return fmt


def parse_labels(text: str, path: Path, fmt: str) -> LabelSet:
    """Parse and validate label-file text; GoldenError listing every ``file:line`` problem."""
    problems = Problems(path)
    try:
        items = validate_items(_READERS[fmt](text, path, problems), problems)
    except RecursionError:
        raise GoldenError(f"label file {path}: the value is nested too deeply; flatten it") from None
    problems.raise_if_any("invalid label file")
    if not items:
        raise GoldenError(f"label file {path} has no items; add at least one labelled item")
    digest = content_digest([json.loads(item.model_dump_json()) for item in items])
    return LabelSet(path, fmt, items, digest)


def load_labels(path: Path | str) -> LabelSet:
    """Load and validate a label file (``.jsonl``, ``.yaml``/``.yml``, ``.csv``)."""
    path = Path(path)
    fmt = label_format(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise GoldenError(f"label file {path} does not exist; check the path (relative paths start at rootdir)") \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"cannot read label file {path}: {exc}") from None
    return parse_labels(text, path, fmt)
