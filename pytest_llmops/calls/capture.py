"""Capture the litellm calls an application makes from its own code.

:func:`install` (cheap, imports nothing) puts a post-import hook on ``sys.meta_path``: the moment ``litellm`` is
imported anywhere, its public entry points are replaced by wrappers; if litellm is already imported, they are
replaced at once.  Because the package attributes are replaced, ``litellm.completion(...)`` and a
``from litellm import completion`` executed after installation both reach the wrapper.  A wrapper routes the
call to the active :class:`~pytest_llmops.calls.engine.CallEngine` (:func:`set_active`) when a test is running,
and otherwise calls the original unchanged.  :func:`uninstall` restores the originals.

Captured (record/replay, metering, budgets): ``litellm.completion``, ``acompletion``, ``embedding``,
``aembedding``, ``text_completion``, ``atext_completion``.  ``litellm.Router`` deployments call
``litellm.acompletion``/``completion`` through the package attribute, so routed calls are captured per deployment
(keyed by the deployment's model).

Not captured:

* apps that use the ``openai`` (or another vendor) SDK directly — they never touch litellm; point them at a
  recorded fixture or wrap them yourself;
* references taken *before* :func:`install` ran (``from litellm import completion`` at import time of a module
  imported before the plugin loaded) — they keep the original function;
* ``stream=True`` calls: passed through to the provider unchanged (live, not recorded, not replayed, not
  metered).  A replay-only run (record mode ``none``) therefore refuses them with RecordingMissing rather than
  silently reaching the network; use a non-streaming call in tests, or record mode ``off``.
* other litellm APIs (``responses``, ``image_generation``, ``transcription``, ``rerank``...).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .litellm_loader import ORIGINAL_ATTR as _ORIGINAL_ATTR
from .litellm_loader import forget_originals, quiet_litellm, remember_original
from .litellm_loader import original as original  # re-exported: the unpatched litellm function

if TYPE_CHECKING:
    from .engine import CallEngine

#: litellm attribute name -> (call kind, is async)
ENTRY_POINTS: dict[str, tuple[str, bool]] = {
    "completion": ("completion", False),
    "acompletion": ("completion", True),
    "embedding": ("embedding", False),
    "aembedding": ("embedding", True),
    "text_completion": ("text_completion", False),
    "atext_completion": ("text_completion", True),
}

_active: CallEngine | None = None
_lock = threading.RLock()
_finder: _LitellmImportHook | None = None


_installs = 0


_activator: Callable[[], CallEngine | None] | None = None


def set_active(engine: CallEngine | None) -> None:
    """Route captured calls to ``engine`` (``None``: call through unchanged)."""
    global _active
    _active = engine


def current_activator() -> Callable[[], CallEngine | None] | None:
    return _activator


def set_activator(activator: Callable[[], CallEngine | None] | None) -> None:
    """Called when a captured call finds no active engine: the plugin starts one for the running test.

    This covers the first test of a run whose app imports litellm lazily, inside the test itself.
    """
    global _activator
    _activator = activator


def _engine_for_call() -> CallEngine | None:
    engine = _active
    if engine is None and _activator is not None:  # an engine set explicitly but outside a test passes through
        engine = _activator()
    if engine is None or not engine.in_test():
        return None
    return engine


def active() -> CallEngine | None:
    return _active


def is_patched() -> bool:
    module = sys.modules.get("litellm")
    return module is not None and hasattr(getattr(module, "completion", None), _ORIGINAL_ATTR)


def _bind(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Turn a call's positional args into keywords using the original's signature."""
    if not args:
        return dict(kwargs)
    try:
        sig = inspect.signature(func)
        bound = sig.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return dict(kwargs)  # let the original raise its own error on live calls
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        param = sig.parameters[name]
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif param.kind is not inspect.Parameter.VAR_POSITIONAL:
            out[name] = value
    return out


def _make_wrapper(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    kind, is_async = ENTRY_POINTS[name]

    if is_async:

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            engine = _engine_for_call()
            if engine is None:
                return await func(*args, **kwargs)
            return await engine.alitellm_call(kind, func, _bind(func, args, kwargs))

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            engine = _engine_for_call()
            if engine is None:
                return func(*args, **kwargs)
            return engine.litellm_call(kind, func, _bind(func, args, kwargs))

        wrapper = sync_wrapper
    setattr(wrapper, _ORIGINAL_ATTR, func)
    return wrapper


def patch_litellm(module: Any) -> None:
    """Replace the entry points of an imported litellm module with capturing wrappers (idempotent)."""
    with _lock:
        for name in ENTRY_POINTS:
            func = getattr(module, name, None)
            if func is None or hasattr(func, _ORIGINAL_ATTR):
                continue
            remember_original(name, func)
            setattr(module, name, _make_wrapper(name, func))
        quiet_litellm(module)


class _PatchingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then patches the freshly executed litellm module."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        patch_litellm(module)

    def __getattr__(self, name: str) -> Any:  # resource readers, get_source, is_package ...
        return getattr(self._loader, name)


class _LitellmImportHook(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "litellm" or getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.on = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader)
        return spec


def install() -> None:
    """Start capturing: patch litellm now if imported, else as soon as it is.  Imports nothing."""
    global _finder, _installs
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download at litellm import
    with _lock:
        _installs += 1
        if _finder is None:
            _finder = _LitellmImportHook()
            sys.meta_path.insert(0, _finder)
        module = sys.modules.get("litellm")
    if module is not None:
        patch_litellm(module)


def uninstall() -> None:
    """Stop capturing and restore litellm's original functions (once every install() is undone).

    Installs are counted, so a nested pytest session (pytester) ending does not switch off the outer one.
    """
    global _finder, _installs
    with _lock:
        _installs = max(0, _installs - 1)
        if _installs:
            return
        if _finder is not None:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None
        module = sys.modules.get("litellm")
        if module is not None:
            for name in ENTRY_POINTS:
                func = getattr(module, name, None)
                if func is not None and hasattr(func, _ORIGINAL_ATTR):
                    setattr(module, name, getattr(func, _ORIGINAL_ATTR))
        forget_originals()
