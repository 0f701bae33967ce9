"""Import litellm quietly and keep its original (unpatched) entry points, for the engine and the capture hook."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

#: attribute on a capture wrapper holding the litellm function it wraps
ORIGINAL_ATTR = "__llmops_original__"

_litellm: Any = None
_litellm_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}
_originals_lock = threading.RLock()

#: Warnings litellm triggers lazily inside its first calls (third-party import noise, not the user's concern).
_LITELLM_NOISE: tuple[tuple[str, type[Warning], str], ...] = (
    (r".*using the `ReadOnly` qualifier", UserWarning, ""),
    (r"Pydantic serializer warnings", UserWarning, ""),
    (r"", DeprecationWarning, r"litellm(\..*)?$"),
    (r"", PendingDeprecationWarning, r"litellm(\..*)?$"),
)


def load_litellm() -> Any:
    """Import litellm quietly: local cost map (no download), no banners, loggers at WARNING."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _litellm_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            with warnings.catch_warnings():  # litellm's import-time noise, silenced here only
                quiet_litellm_warnings()
                import litellm  # noqa: PLC0415 - heavy, only for live calls

            quiet_litellm(litellm)
            _litellm = litellm
    return _litellm


def quiet_litellm(module: Any) -> None:
    """No 'Give Feedback / Get Help' banners or debug chatter in test output."""
    import logging

    try:
        module.suppress_debug_info = True
        module.set_verbose = False
    except Exception:  # pragma: no cover - exotic module proxies
        pass
    for logger_name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(logger_name).setLevel(logging.WARNING)


def quiet_litellm_warnings() -> None:
    """Ignore litellm's lazy-import noise (idempotent; re-applied per live call: pytest resets filters per test)."""
    import warnings

    for message, category, module in _LITELLM_NOISE:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def remember_original(name: str, func: Callable[..., Any]) -> None:
    """Keep litellm's own ``name`` function before the capture hook replaces it."""
    with _originals_lock:
        _originals[name] = func


def forget_originals() -> None:
    with _originals_lock:
        _originals.clear()


def original(name: str) -> Callable[..., Any]:
    """The unpatched litellm function ``name`` (imports litellm)."""
    litellm = load_litellm()
    with _originals_lock:
        if name in _originals:
            return _originals[name]
    func = getattr(litellm, name)
    return getattr(func, ORIGINAL_ATTR, func)
