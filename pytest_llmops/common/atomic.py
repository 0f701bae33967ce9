"""Atomic file writes: a reader (or a crash) sees either the old file or the complete new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes | str, *, keep_mode: bool = True) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then ``os.replace`` it over ``path``.

    Text is written as UTF-8 with ``\\n`` newlines; an existing file's permission bits are kept.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    mode = None
    if keep_mode:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
