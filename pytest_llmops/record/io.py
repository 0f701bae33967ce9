"""Reading and writing run records: atomic writes, clear errors, schema checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..common.atomic import write_atomic
from ..errors import ReportError

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "run-record.schema.json"
_TOO_DEEP = ("a value is nested too deeply (hundreds of levels of lists/objects); "
             "this is not a run record pytest-llmops wrote")
_MAX_MESSAGE = 300  # characters of a schema message: the offending value can be megabytes long


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that ``path`` is always either the old file or the complete new one."""
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"
    write_atomic(Path(path), text)


def read_json(path: Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read ({exc})") from None
    if not text.strip():
        raise ReportError(f"{path}: the file is empty; was the run killed before it wrote the record?")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}); the file is truncated or not a run record"
        ) from None
    except RecursionError:
        raise ReportError(f"{path}: {_TOO_DEEP}") from None


def check_schema_version(data: Any, path: Path) -> None:
    from .models import SCHEMA_VERSION

    if not isinstance(data, dict) or data.get("kind") != "pytest-llmops-run":
        raise ReportError(f"{path}: not a pytest-llmops run record (no \"kind\": \"pytest-llmops-run\")")
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise ReportError(f"{path}: schema_version is missing or not an integer")
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{path}: written with schema version {version}, newer than this pytest-llmops understands "
            f"(version {SCHEMA_VERSION}); upgrade pytest-llmops to read it"
        )
    if version < SCHEMA_VERSION:
        raise ReportError(f"{path}: schema version {version} is older than {SCHEMA_VERSION} and has no migration")


def validate_data(data: Any, path: Path) -> None:
    """Validate against the shipped JSON Schema; the error names the JSON path of the first problem."""
    import jsonschema

    check_schema_version(data, path)
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    try:
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except RecursionError:
        raise ReportError(f"{path}: {_TOO_DEEP}") from None
    if errors:
        first = errors[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ReportError(f"{path}: {where}: {_short(first.message)}{more}")


def load_record(path: Path):  # -> RunRecord
    """Read, check and parse a run record file."""
    from pydantic import ValidationError

    from .models import RunRecord

    data = read_json(path)
    check_schema_version(data, path)
    try:
        return RunRecord.model_validate(data)
    except RecursionError:
        raise ReportError(f"{path}: {_TOO_DEEP}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise ReportError(f"{path}: {where}: {first['msg']}") from None
