"""One golden case (:class:`GoldenCase`) and the validation that gives golden-file authors clear messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator, model_validator

from ...common.numbers import is_finite
from ..yaml_source import format_loc
from .raw import Problems, RawCase

CASE_FIELDS = ("id", "input", "expected", "contexts", "relevant_ids", "tags", "metadata", "approved",
               "expected_trajectory", "turns")
TURN_FIELDS = ("user", "expected", "expected_trajectory", "must_include", "metadata")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
ID_MAX_LENGTH = 100


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_json_like(value: Any, what: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(
            f"{what} must hold plain JSON values (strings, numbers, bools, null, lists, mappings): {exc}"
        ) from None


def _check_comparators(value: Any, what: str) -> None:
    """The JSON comparators of expected arguments: ``{"$regex": ...}`` must compile, ``{"$approx": x}`` be a number."""
    if isinstance(value, dict):
        if "$regex" in value:
            try:
                re.compile(str(value["$regex"]))
            except re.error as exc:
                raise ValueError(
                    f"{what}: $regex {value['$regex']!r} is not a valid regular expression ({exc})"
                ) from None
        if "$approx" in value and not is_finite(value["$approx"]):
            raise ValueError(f"{what}: $approx needs a finite number, got {value['$approx']!r}")
        for key, inner in value.items():
            _check_comparators(inner, f"{what}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_comparators(inner, f"{what}[{index}]")


def check_trajectory(value: Any, what: str = "") -> list[Any]:
    """A list of steps: a tool name, or a mapping with ``tool`` and optional ``args`` (JSON, comparators allowed)."""
    if not isinstance(value, list):
        raise ValueError(f"{what}must be a list of steps, got {type_name(value)} {value!r:.60}")
    for index, step in enumerate(value):
        where = f"{what}step [{index}]"
        if isinstance(step, str) and step:
            continue
        if not isinstance(step, dict):
            raise ValueError(
                f"{where} must be a tool name or a mapping with 'tool', got {type_name(step)} {step!r:.60}"
            )
        unknown = [k for k in step if k not in ("tool", "args", "arguments")]
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}; allowed: tool, args")
        if not isinstance(step.get("tool"), str) or not step["tool"]:
            raise ValueError(f"{where} needs 'tool': a non-empty tool name")
        args = step.get("args", step.get("arguments"))
        _check_json_like(args, f"{where} args")
        _check_comparators(args, f"{where} args")
    return value


def _check_turn(index: int, turn: Any) -> Any:
    where = f"turn [{index}]"
    if isinstance(turn, str):
        return {"user": turn}
    if not isinstance(turn, dict):
        raise ValueError(f"{where} must be a user message or a mapping with 'user', got {type_name(turn)}")
    unknown = [k for k in turn if k not in TURN_FIELDS]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(TURN_FIELDS)}")
    if not isinstance(turn.get("user"), str) or not turn["user"].strip():
        raise ValueError(f"{where} needs 'user': the user's message (a non-empty string)")
    expected = turn.get("expected")
    if expected is not None and not isinstance(expected, (str, dict)):
        raise ValueError(f"{where} 'expected' must be a string or a mapping, got {type_name(expected)}")
    must = turn.get("must_include")
    if must is not None and (not isinstance(must, list) or not all(isinstance(m, str) for m in must)):
        raise ValueError(f"{where} 'must_include' must be a list of strings")
    if turn.get("expected_trajectory") is not None:
        check_trajectory(turn["expected_trajectory"], f"{where} expected_trajectory ")
    if not isinstance(turn.get("metadata", {}), dict):
        raise ValueError(f"{where} 'metadata' must be a mapping")
    _check_json_like(turn, where)
    return turn


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
    expected_trajectory: Optional[list[Union[str, dict[str, Any]]]] = None
    turns: Optional[list[dict[str, Any]]] = None

    _source: str = PrivateAttr(default="")
    _source_line: int = PrivateAttr(default=0)
    _pointer: str = PrivateAttr(default="")

    # "before" validators: they give one clear message instead of pydantic's per-union-member errors, and
    # refuse the silent coercions (1 -> "1", true -> 1) that would hide a mistake in a golden file.
    @field_validator("id", mode="before")
    @classmethod
    def _id_safe(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type_name(value)} {value!r} (quote it)")
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
        raise ValueError(f"must be a string or a mapping, got {type_name(value)} {value!r:.60}")

    @field_validator("contexts", "tags", mode="before")
    @classmethod
    def _string_list(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, list):
            raise ValueError(f"must be a list of strings, got {type_name(value)} {value!r:.60}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"item [{index}] must be a string, got {type_name(item)} {item!r:.60}")
        return value

    @field_validator("relevant_ids", mode="before")
    @classmethod
    def _relevance(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise ValueError(f"item [{index}] must be a string id, got {type_name(item)} {item!r:.60}")
            return value
        if isinstance(value, dict):
            for key, grade in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"key {key!r} must be a string id")
                if not is_finite(grade):
                    raise ValueError(f"grade of {key!r} must be a finite number, got {grade!r}")
            return value
        raise ValueError(
            f"must be a list of ids or a mapping id -> graded relevance, got {type_name(value)} {value!r:.60}"
        )

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(f"must be a mapping, got {type_name(value)} {value!r:.60}")
        _check_json_like(value, "metadata")
        return value

    @field_validator("approved", mode="before")
    @classmethod
    def _approved(cls, value: Any) -> Any:
        _check_json_like(value, "approved")
        return value

    @field_validator("expected_trajectory", mode="before")
    @classmethod
    def _trajectory(cls, value: Any) -> Any:
        return value if value is None else check_trajectory(value)

    @field_validator("turns", mode="before")
    @classmethod
    def _turns(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be a non-empty list of turns, got {type_name(value)} {value!r:.60}")
        return [_check_turn(index, turn) for index, turn in enumerate(value)]

    @model_validator(mode="before")
    @classmethod
    def _conversation_input(cls, data: Any) -> Any:
        """A conversation's ``input`` defaults to its first user message."""
        if isinstance(data, dict) and "input" not in data and isinstance(data.get("turns"), list) and data["turns"]:
            first = data["turns"][0]
            text = first if isinstance(first, str) else first.get("user") if isinstance(first, dict) else None
            if isinstance(text, str):
                data = {**data, "input": text}
        return data

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
        message += f", got {type_name(err.get('input'))} {err.get('input')!r:.60}"
    return field_path, f"field {field_path!r} {message}" if message[
        :1
    ].islower() else f"field {field_path!r}: {message}"


def validate_cases(raw: list[RawCase], path: Path, problems: Problems) -> list[GoldenCase]:
    """The valid cases of ``raw`` (located in ``path``); every invalid case and duplicate id goes to ``problems``."""
    cases: list[GoldenCase] = []
    first_line: dict[str, int] = {}
    for item in raw:
        if not isinstance(item.data, dict):
            problems.add(item.line, f"a case must be an object/mapping, got {type_name(item.data)} {item.data!r:.60}")
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
