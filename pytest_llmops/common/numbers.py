"""Number checks shared by every validator: one definition of "a finite number"."""

from __future__ import annotations

import math
from typing import Any


def is_finite(value: Any) -> bool:
    """True for an int or float that is finite (an int too large for a float is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range
        return False
