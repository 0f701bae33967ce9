"""Cases as read from a golden file before validation, and the collector of its ``file:line`` problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ...errors import GoldenError

MAX_REPORTED_ERRORS = 20
TOO_DEEP = "the value is nested too deeply (hundreds of levels of lists/objects); flatten it"


@dataclass
class RawCase:
    """One case's plain data as written in the file, with where it starts."""

    data: Any
    line: int
    pointer: str
    line_of: Optional[Callable[[str], int]] = None  # field path -> line (YAML only)


class Problems:
    """Every problem found in one file, raised together as one :class:`GoldenError`."""

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
