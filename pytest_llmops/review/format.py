"""Stable text for the numbers of a diff: percentages, dollars, seconds, relative changes."""

from __future__ import annotations


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def fmt_usd(x: float | None) -> str:
    if x is None:
        return "unknown"
    return f"${x:.4f}" if abs(x) < 100 else f"${x:,.2f}"


def fmt_num(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.4g}"


def fmt_s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}s"


def fmt_int(x: float) -> str:
    """A token count: ``12,345``."""
    return f"{int(x):,}"


def rel_change(base: float | None, head: float | None) -> float | None:
    if base is None or head is None or base == 0:
        return None
    return (head - base) / abs(base)


def fmt_rel(base: float | None, head: float | None) -> str:
    change = rel_change(base, head)
    if change is None:
        if base == 0 and head not in (None, 0):
            return "new"
        return "—" if base == head else "n/a"
    return f"{change * 100:+.1f}%"
