"""The HTTP hook: httpx's transports hand requests to model APIs to the running test's call engine.

Patched on ``HTTPTransport.handle_request`` and ``AsyncHTTPTransport.handle_async_request`` of ``httpx`` and of
``httpx2`` (its successor, which current ``openai`` and ``anthropic`` SDKs use) — the transports those SDKs (and
LangChain, LlamaIndex, instructor on top of them) send through — not per SDK method.  A request is served by
:mod:`.http_route` only inside a test, when it is a model API request, and when it is not one the engine itself
is sending live through litellm (recorded there once).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .active import engine_for_call, in_engine_live_call

_ORIGINAL_ATTR = "__llmops_original__"
_TARGETS = (("HTTPTransport", "handle_request", False), ("AsyncHTTPTransport", "handle_async_request", True))
_lock = threading.Lock()


#: the httpx modules whose transports are hooked
MODULES = ("httpx", "httpx2")


def _route(request: Any, http: Any) -> tuple[Any, Any]:
    """``(engine, call)`` when this request is ours to serve, else ``(None, None)``."""
    if in_engine_live_call():
        return None, None
    from . import http_route

    call = http_route.model_request(request, http)
    if call is None:
        return None, None
    engine = engine_for_call()
    return (engine, call) if engine is not None else (None, None)


def _wrap(func: Callable[..., Any], is_async: bool, http: Any) -> Callable[..., Any]:
    if is_async:

        @functools.wraps(func)
        async def handle_async_request(self: Any, request: Any) -> Any:
            engine, call = _route(request, http)
            if engine is None:
                return await func(self, request)
            from .http_route import aserve

            return await aserve(engine, call, lambda: func(self, request))

        wrapper: Callable[..., Any] = handle_async_request
    else:

        @functools.wraps(func)
        def handle_request(self: Any, request: Any) -> Any:
            engine, call = _route(request, http)
            if engine is None:
                return func(self, request)
            from .http_route import serve

            return serve(engine, call, lambda: func(self, request))

        wrapper = handle_request
    setattr(wrapper, _ORIGINAL_ATTR, func)
    return wrapper


def patch_httpx(module: Any) -> None:
    """Hook the transports of an imported httpx module (idempotent)."""
    with _lock:
        for class_name, method, is_async in _TARGETS:
            cls = getattr(module, class_name, None)
            func = getattr(cls, method, None) if cls is not None else None
            if func is None or hasattr(func, _ORIGINAL_ATTR):
                continue
            setattr(cls, method, _wrap(func, is_async, module))


def unpatch_httpx(module: Any) -> None:
    if module is None:
        return
    with _lock:
        for class_name, method, _ in _TARGETS:
            cls = getattr(module, class_name, None)
            func = getattr(cls, method, None) if cls is not None else None
            if func is not None and hasattr(func, _ORIGINAL_ATTR):
                setattr(cls, method, getattr(func, _ORIGINAL_ATTR))


def is_patched(module: Any) -> bool:
    """True when ``module`` (httpx or httpx2) has its transports hooked."""
    cls = getattr(module, "HTTPTransport", None)
    return cls is not None and hasattr(getattr(cls, "handle_request", None), _ORIGINAL_ATTR)
