"""Cassettes: one human-readable JSON file of recorded model calls per test item.

File layout (``version`` 1)::

    {"version": 1, "test": "<nodeid>", "entries": [
        {"key", "kind", "sample", "occurrence", "request": {"model", "messages"|"input"|"prompt", "params"},
         "response": {...litellm response as a dict...}, "usage", "cost_usd", "latency_s", "provider",
         "recorded_at"}, ...]}

Entries are sorted by ``(sample, occurrence, key)`` and written with ``indent=2, sort_keys=True`` and a trailing
newline, so re-recording produces small git diffs.  Writes are atomic (temp file in the same directory, then
``os.replace``).  A corrupt file raises :class:`~pytest_llmops.errors.RecordingError` naming the file and the
position or field — it is never silently re-recorded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..common.atomic import write_atomic
from ..errors import RecordingError

CASSETTE_VERSION = 1
_REQUIRED_ENTRY_FIELDS = ("key", "kind", "sample", "occurrence", "request", "response")
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9_.,=+-]")
_MAX_NAME = 120


def _sanitize(text: str) -> str:
    """File-name-safe version of ``text``; adds a short hash when characters had to be replaced or cut."""
    safe = _SAFE_CHARS.sub("_", text)
    if safe != text or len(safe) > _MAX_NAME:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[:_MAX_NAME]}-{digest}"
    return safe


def cassette_path_for(recordings_dir: Path, nodeid: str) -> Path:
    """``<recordings_dir>/<test file without suffix>/<Class.>test_name[param_id].json`` for a pytest node id."""
    file_part, _, rest = nodeid.partition("::")
    file_path = Path(file_part)
    stem_dir = file_path.with_suffix("") if file_path.suffix else file_path
    rest = rest or "module"
    name, bracket, param = rest.partition("[")
    name = name.replace("::", ".")
    filename = _sanitize(name)
    if bracket:
        filename += f"[{_sanitize(param[:-1] if param.endswith(']') else param)}]"
    parts = [p for p in stem_dir.parts if p not in ("", ".", "..", "/")]
    return Path(recordings_dir).joinpath(*parts, filename + ".json")


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.@=,+\-\[\]]+")


def recording_path_for_test(module: Path, test_name: str, class_name: str | None, rootdir: Path,
                        recordings_dir: str | None = None) -> Path:
    """Where a test item's recording lives (the one rule for the plugin and for imported traces):
    ``<module dir>/recordings/<module stem>/<[Class.]name>.json``, or with ``llmops_recordings``
    ``<rootdir>/<recordings_dir>/<module path relative to rootdir, no suffix>/<[Class.]name>.json``."""
    name = _UNSAFE_NAME.sub("_", test_name)[:150]
    if class_name:
        name = f"{class_name}.{name}"
    if recordings_dir:
        try:
            rel = module.resolve().relative_to(rootdir.resolve()).with_suffix("")
        except ValueError:
            rel = Path(module.stem)
        return rootdir / recordings_dir / rel / f"{name}.json"
    return module.parent / "recordings" / module.stem / f"{name}.json"


class Cassette:
    """The recorded entries of one test; thread-safe lookups and additions."""

    def __init__(
        self, path: Path, nodeid: str, entries: dict[str, dict[str, Any]] | None = None, existed: bool = False
    ) -> None:
        self.path = Path(path)
        self.nodeid = nodeid
        self.entries: dict[str, dict[str, Any]] = dict(entries or {})
        self.existed = existed
        self.used: set[str] = set()
        self.recorded: set[str] = set()
        self.dirty = False
        self._lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, nodeid: str) -> Cassette:
        path = Path(path)
        if not path.exists():
            return cls(path, nodeid)
        return cls(path, nodeid, read_entries(path), existed=True)

    # -- use --------------------------------------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.used.add(key)
            return entry

    def put(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries[entry["key"]] = entry
            self.recorded.add(entry["key"])
            self.used.add(entry["key"])
            self.dirty = True

    def clear(self) -> None:
        """Forget all loaded entries (record mode ``all`` rewrites the cassette with this run's calls only)."""
        with self._lock:
            if self.entries:
                self.dirty = True
            self.entries.clear()

    def unused_keys(self) -> list[str]:
        with self._lock:
            return sorted(k for k in self.entries if k not in self.used)

    # -- saving -----------------------------------------------------------------------------------
    def to_json(self) -> str:
        with self._lock:
            entries = sorted(self.entries.values(), key=lambda e: (e["sample"], e["occurrence"], e["key"]))
        doc = {"version": CASSETTE_VERSION, "test": self.nodeid, "entries": entries}
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self) -> bool:
        """Write the file atomically if anything changed; an empty cassette deletes the file.  True if it wrote."""
        if not self.dirty:
            return False
        if not self.entries:
            if self.path.exists():
                self.path.unlink()
            self.dirty = False
            return True
        write_atomic(self.path, self.to_json())
        self.dirty = False
        return True


_HINT = "fix or delete the file and re-record with --llmops-record-mode=once"


def _parse(path: Path) -> Any:
    """The JSON in a cassette file; RecordingError naming the file (and position) when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: cassette is not UTF-8 text (byte {exc.start}); {_HINT}") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read cassette ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordingError(
            f"{path}:{exc.lineno}:{exc.colno}: cassette is not valid JSON ({exc.msg}); {_HINT}"
        ) from None
    except RecursionError:
        raise RecordingError(f"{path}: cassette JSON is nested too deeply to be a recording; {_HINT}") from None


def _check_entry(where: str, entry: Any) -> None:
    if not isinstance(entry, dict):
        raise RecordingError(f"{where} must be an object, got {type(entry).__name__}; {_HINT}")
    missing = [f for f in _REQUIRED_ENTRY_FIELDS if f not in entry]
    if missing:
        raise RecordingError(f"{where} lacks field(s) {', '.join(missing)}; {_HINT}")
    if not (
        isinstance(entry["key"], str) and isinstance(entry["response"], dict) and isinstance(entry["request"], dict)
    ):
        raise RecordingError(f"{where}: 'key' must be a string and 'request'/'response' objects; {_HINT}")
    if not isinstance(entry["sample"], int) or not isinstance(entry["occurrence"], int):
        raise RecordingError(f"{where}: 'sample' and 'occurrence' must be integers; {_HINT}")


def read_document(path: Path) -> dict[str, Any]:
    """Parse and validate a cassette file; RecordingError naming the file and position/field otherwise."""
    doc = _parse(path)
    if not isinstance(doc, dict):
        raise RecordingError(f"{path}: cassette must be a JSON object, got {type(doc).__name__}; {_HINT}")
    if doc.get("version") != CASSETTE_VERSION:
        raise RecordingError(
            f"{path}: field 'version': expected {CASSETTE_VERSION}, got {doc.get('version')!r}; {_HINT}"
        )
    entries = doc.get("entries")
    if not isinstance(entries, list):
        raise RecordingError(f"{path}: field 'entries' must be a list, got {type(entries).__name__}; {_HINT}")
    for i, entry in enumerate(entries):
        _check_entry(f"{path}: entries[{i}]", entry)
    return doc


def read_entries(path: Path) -> dict[str, dict[str, Any]]:
    return {e["key"]: e for e in read_document(path)["entries"]}


# -- housekeeping for the CLI ---------------------------------------------------------------------
def iter_cassettes(recordings_dir: Path) -> Iterable[Path]:
    root = Path(recordings_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.json") if p.is_file() and not p.name.startswith("."))


def find_unused_cassettes(recordings_dir: Path, seen_nodeids: Iterable[str]) -> list[Path]:
    """Cassette files whose test was not among ``seen_nodeids`` (run it on a full, unfiltered run only).

    The owning test is read from the file's ``test`` field; files that cannot be parsed raise RecordingError.
    """
    seen = set(seen_nodeids)
    unused = []
    for path in iter_cassettes(recordings_dir):
        doc = read_document(path)
        if doc.get("test") not in seen:
            unused.append(path)
    return unused


def prune(
    recordings_dir: Path,
    seen_nodeids: Iterable[str],
    *,
    unused_entries: dict[str, list[str]] | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Delete cassettes of tests not seen, and drop the given unused entries (``{cassette path: [keys]}``).

    Returns ``{"removed_files": [...], "removed_entries": {path: n}}``; with ``dry_run`` nothing is changed.
    """
    removed_files = [str(p) for p in find_unused_cassettes(recordings_dir, seen_nodeids)]
    if not dry_run:
        for p in removed_files:
            Path(p).unlink()
    removed_entries: dict[str, int] = {}
    for cassette_file, keys in (unused_entries or {}).items():
        path = Path(cassette_file)
        if not path.is_absolute() and not path.exists():
            path = Path(recordings_dir) / cassette_file
        if str(path) in removed_files or not path.exists() or not keys:
            continue
        removed_entries[str(path)] = drop_entries(path, keys, dry_run=dry_run)
    return {"removed_files": removed_files, "removed_entries": removed_entries}


def drop_entries(path: Path, keys: Iterable[str], *, dry_run: bool = False) -> int:
    """Remove the entries whose key is in ``keys`` (or starts with one of them) from a cassette; returns how many."""
    prefixes = tuple(keys)
    doc = read_document(path)
    kept = {e["key"]: e for e in doc["entries"] if not e["key"].startswith(prefixes)}
    removed = len(doc["entries"]) - len(kept)
    if not dry_run and removed:
        cassette = Cassette(path, doc.get("test", ""), kept, existed=True)
        cassette.dirty = True
        cassette.save()
    return removed
