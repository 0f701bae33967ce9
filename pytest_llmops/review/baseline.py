"""Named baselines: ``pytest-llmops baseline bless RECORD --as main`` and ``--llmops-baseline=main``.

A named baseline is the run record stored as ``<dir>/<name>.json`` (by default ``.llmops/baselines`` under
the project's root directory; ini ``llmops_baselines_dir``).  The directory can be committed, or cached /
uploaded between CI jobs, so a pull request's run compares with the blessed main run without fetching its
artifact by hand.  Blessing validates the record first and writes atomically; a name is letters, digits,
``.``, ``_`` and ``-``.  This module imports nothing heavy (the plugin uses :func:`resolve` at start-up).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ConfigError, ReportError

DEFAULT_DIR = Path(".llmops") / "baselines"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name.endswith(".json") or ".." in name:
        raise ReportError(f"baseline name {name!r}: use letters, digits, '.', '_' and '-' (e.g. main, release-1.2)")
    return name


def baseline_file(directory: Path, name: str) -> Path:
    return Path(directory) / f"{check_name(name)}.json"


def bless(record: Path, name: str, directory: Path) -> Path:
    """Validate ``record`` and store it as the baseline ``name`` in ``directory``; returns the stored path."""
    from ..common.atomic import write_atomic
    from ..record.io import load_record

    target = baseline_file(directory, name)
    load_record(Path(record))  # a broken record must not become the baseline
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, Path(record).read_bytes())
    return target


def names(directory: Path) -> list[str]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if NAME.fullmatch(p.stem))


def resolve(value: str, base: Path, directory: Path) -> Path:
    """``--llmops-baseline`` value → record path: an existing file (relative to ``base``), else a baseline name.

    Raises ConfigError saying where it looked and which names exist.
    """
    path = (Path(base) / value).resolve()
    if path.is_file():
        return path
    if NAME.fullmatch(value) and not value.endswith(".json"):
        named = (Path(directory) / f"{value}.json").resolve()
        if named.is_file():
            return named
        known = names(directory)
        listing = f"known baselines: {', '.join(known)}" if known else "no baselines stored there yet"
        raise ConfigError(
            f"{value!r} is neither a file ({path}) nor a baseline in {Path(directory).resolve()} ({listing}); "
            f"store one with 'pytest-llmops baseline bless RECORD --as {value} --dir {directory}'"
        )
    raise ConfigError(f"{path} does not exist; pass the run record of the base run or a baseline name")
