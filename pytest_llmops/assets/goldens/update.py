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
written.  The editors of each format live in ``edit_json``, ``edit_yaml`` and ``edit_csv``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ...common.atomic import write_atomic
from ...errors import GoldenError
from .edit_csv import csv_read_back, edit_csv
from .edit_json import edit_json, edit_jsonl
from .edit_yaml import edit_yaml, redump_yaml
from .loader import clear_cache, parse_golden_with_raw
from .models import GoldenCase
from .readers import golden_format, read_raw_cases

__all__ = ["update_approved", "lock_path"]

LOCK_TIMEOUT_SECONDS = 60.0
_BOM = "\ufeff"

_EDITORS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "jsonl": edit_jsonl,
    "json": edit_json,
    "yaml": edit_yaml,
    "csv": edit_csv,
}


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


def _same(old: Any, new: Any) -> bool:
    """Equal as JSON data (a tuple equals a list, 1 differs from 1.0 and from True)."""
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _read_body(path: Path) -> tuple[str, bool]:
    """The file's text without a BOM, and whether it had one."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise GoldenError(f"cannot read golden set {path}: {exc}") from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenError(f"golden set {path} is not UTF-8 text (byte {exc.start})") from None
    bom = text.startswith(_BOM)
    return (text[1:] if bom else text), bom


def _known_state(path: Path, fmt: str, body: str) -> _KnownState:
    """The cases of ``body``, validated unless this process wrote or read exactly this text last."""
    key = path.resolve()
    state = _known.get(key)
    if state is None or state.text != body:  # first update, or another process changed the file
        _golden, raw_cases = parse_golden_with_raw(body, path, fmt)  # validates all; GoldenError if broken
        state = _KnownState(body, [c.data["id"] for c in raw_cases], {c.data["id"]: c.data for c in raw_cases})
        _known[key] = state
    return state


def _verified(
    new_body: str, path: Path, fmt: str, state: _KnownState, expected: dict[str, dict[str, Any]], changed: list[str]
) -> dict[str, dict[str, Any]] | None:
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


def _update_locked(path: Path, fmt: str, outputs: dict[str, Any]) -> list[str]:
    body, bom = _read_body(path)
    state = _known_state(path, fmt, body)
    unknown = [case_id for case_id in outputs if case_id not in state.raw]
    if unknown:
        raise GoldenError(
            f"cannot approve unknown case id(s) {', '.join(map(repr, unknown))} in {path}; "
            f"ids in the file: {', '.join(state.ids[:20])}{' ...' if len(state.ids) > 20 else ''}"
        )
    normalise = csv_read_back if fmt == "csv" else (lambda value: value)
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
    new_body = _EDITORS[fmt](body, updates)
    new_raw = _verified(new_body, path, fmt, state, expected, changed)
    if new_raw is None and fmt == "yaml":
        new_body = redump_yaml(body, updates)  # in-place edit went wrong: fall back to a full re-dump
        new_raw = _verified(new_body, path, fmt, state, expected, changed)
    if new_raw is None:
        raise GoldenError(  # a bug in an editor, never the user's fault; nothing has been written
            f"internal error: rewriting {path} would change more than the approved values; file left untouched"
        )
    write_atomic(path, ((_BOM if bom else "") + new_body).encode("utf-8"))
    _known[path.resolve()] = _KnownState(new_body, state.ids, new_raw)
    clear_cache(path)
    return changed
