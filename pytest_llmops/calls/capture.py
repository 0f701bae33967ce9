"""Capture the model calls an application makes from its own code: litellm calls, and HTTP requests to model APIs.

:func:`install` (cheap, imports nothing) puts a post-import hook on ``sys.meta_path``: the moment ``litellm`` or
``httpx`` is imported anywhere, it is patched; if already imported, it is patched at once.  litellm's public entry
points are replaced by wrappers (``litellm.completion(...)`` and a ``from litellm import completion`` executed after
installation both reach them); httpx's transports get a hook (:mod:`.http_capture`) that serves requests to model
APIs — the ``openai`` and ``anthropic`` SDKs and everything built on them (LangChain, LlamaIndex, instructor).
A captured call goes to the active :class:`~pytest_llmops.calls.engine.CallEngine` (:func:`set_active`) when a
test is running, and otherwise runs unchanged.  :func:`uninstall` restores the originals.

Captured (record/replay, metering, budgets):

* litellm: ``completion``, ``acompletion`` (also ``stream=True``, sync and async iteration), ``embedding``,
  ``aembedding``, ``text_completion``, ``atext_completion``.  ``litellm.Router`` deployments call
  ``litellm.acompletion``/``completion`` through the package attribute, so routed calls are captured per
  deployment (keyed by the deployment's model).
* HTTP (``HTTPTransport`` / ``AsyncHTTPTransport`` of httpx and httpx2): chat completions, embeddings, legacy
  completions and the Responses API of OpenAI-compatible servers, and Anthropic's Messages API; streamed or not.
  A request litellm itself sends while one of its captured calls is live is not recorded a second time.

Not captured:

* references taken *before* :func:`install` ran (``from litellm import completion`` at import time of a module
  imported before the plugin loaded) — they keep the original function;
* HTTP clients other than httpx (``requests``, ``aiohttp`` used directly), and httpx clients built on a custom
  transport class: in replay-only mode the network guard stops them instead;
* streamed legacy ``text_completion`` calls, and other litellm APIs (``responses``, ``image_generation``,
  ``transcription``, ``rerank``...).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from . import http_capture
from .active import active as active
from .active import current_activator as current_activator
from .active import engine_for_call as _engine_for_call
from .active import set_activator as set_activator
from .active import set_active as set_active
from .import_hook import PostImportHook
from .litellm_loader import ORIGINAL_ATTR as _ORIGINAL_ATTR
from .litellm_loader import forget_originals, quiet_litellm, remember_original
from .litellm_loader import original as original  # re-exported: the unpatched litellm function

#: litellm attribute name -> (call kind, is async)
ENTRY_POINTS: dict[str, tuple[str, bool]] = {
    "completion": ("completion", False),
    "acompletion": ("completion", True),
    "embedding": ("embedding", False),
    "aembedding": ("embedding", True),
    "text_completion": ("text_completion", False),
    "atext_completion": ("text_completion", True),
}

_lock = threading.RLock()
_finder: PostImportHook | None = None
_installs = 0


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
            from . import litellm_route  # imported with the first captured call, not with the plugin

            return await litellm_route.acall(engine, kind, func, _bind(func, args, kwargs))

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(func)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            engine = _engine_for_call()
            if engine is None:
                return func(*args, **kwargs)
            from . import litellm_route

            return litellm_route.call(engine, kind, func, _bind(func, args, kwargs))

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


def install() -> None:
    """Start capturing: patch litellm and httpx now if imported, else as soon as they are.  Imports nothing."""
    global _finder, _installs
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download at litellm import
    with _lock:
        _installs += 1
        if _finder is None:
            targets = {"litellm": patch_litellm, **{name: http_capture.patch_httpx for name in http_capture.MODULES}}
            _finder = PostImportHook(targets)
            sys.meta_path.insert(0, _finder)
        module = sys.modules.get("litellm")
        http_modules = [sys.modules[name] for name in http_capture.MODULES if name in sys.modules]
    if module is not None:
        patch_litellm(module)
    for http in http_modules:
        http_capture.patch_httpx(http)


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
        for name in http_capture.MODULES:
            http_capture.unpatch_httpx(sys.modules.get(name))
