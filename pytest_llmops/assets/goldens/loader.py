"""Loading a golden file into a :class:`GoldenSet`: read, parse, validate, hash, and cache by mtime and size."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...common.canonical import content_digest
from ...errors import GoldenError
from .models import GoldenCase, validate_cases
from .raw import TOO_DEEP, Problems, RawCase
from .readers import READERS, golden_format


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


def parse_golden_with_raw(text: str, path: Path, fmt: str) -> tuple[GoldenSet, list[RawCase]]:
    """Parse and validate golden-set text (no caching); raises :class:`GoldenError` listing every problem."""
    problems = Problems(path)
    try:
        raw = READERS[fmt](text, path, problems)
        cases = validate_cases(raw, path, problems)
        problems.raise_if_any()
        if not cases:
            raise GoldenError(f"golden set {path} has no cases; add at least one case")
    except RecursionError:  # a value a few hundred levels deep that the parser still accepted
        raise GoldenError(f"golden set {path}: {TOO_DEEP}") from None
    try:
        digest = content_digest([case.data() for case in cases])
    except (RecursionError, ValueError):  # pydantic: "Maximum serialization depth exceeded"
        raise GoldenError(f"golden set {path}: {TOO_DEEP}") from None
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
