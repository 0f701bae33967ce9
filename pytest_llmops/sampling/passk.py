"""pass@k and pass^k of a sampled test: unbiased estimates from ``c`` passing samples out of ``n``.

pass@k is the chance that at least one of k tries works, ``1 - C(n-c, k) / C(n, k)`` (Chen et al. 2021);
pass^k is the chance that all k tries work, ``C(c, k) / C(n, k)`` (Yao et al. 2024, tau-bench) — what a user
who asks an agent the same thing k times experiences.  Both are unbiased for k <= n (sampling without
replacement from the n observed outcomes); for k > n there is no unbiased estimate and the value is None.
"""

from __future__ import annotations

from math import comb
from typing import Any

from ..errors import ConfigError

#: the k values recorded for every sampled test (those <= n)
DEFAULT_KS = (1, 2, 3, 5, 10)


def _check(n: int, c: int, k: int) -> None:
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"pass@k: {name}={value!r} must be a non-negative integer")
    if c > n:
        raise ConfigError(f"pass@k: c={c} successes cannot exceed n={n} samples")
    if k < 1:
        raise ConfigError(f"pass@k: k={k} must be at least 1")


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """Estimated P(at least one of k samples passes); None when k > n."""
    _check(n, c, k)
    if k > n:
        return None
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float | None:
    """Estimated P(all k samples pass) (``pass^k``); None when k > n."""
    _check(n, c, k)
    if k > n:
        return None
    return comb(c, k) / comb(n, k)


def pass_k_table(n: int, c: int, ks: tuple[int, ...] = DEFAULT_KS) -> dict[str, Any]:
    """``{"n", "c", "pass_at_k": {"1": .., "3": ..}, "pass_hat_k": {...}}`` for the ks <= n (plus k = n)."""
    chosen = sorted({k for k in ks if 1 <= k <= n} | ({n} if n >= 1 else set()))
    return {
        "n": n,
        "c": c,
        "pass_at_k": {str(k): pass_at_k(n, c, k) for k in chosen},
        "pass_hat_k": {str(k): pass_hat_k(n, c, k) for k in chosen},
    }


def describe_pass_k(table: dict[str, Any], k: int | None = None) -> str:
    """``pass@3=0.97 pass^3=0.42`` for the given k (default: the largest recorded k up to 3)."""
    ats, hats = table.get("pass_at_k") or {}, table.get("pass_hat_k") or {}
    if not ats:
        return ""
    keys = sorted(int(x) for x in ats)
    chosen = k if k is not None and str(k) in ats else max([x for x in keys if x <= 3] or keys[:1])
    return f"pass@{chosen}={ats[str(chosen)]:.2f} pass^{chosen}={hats[str(chosen)]:.2f}"
