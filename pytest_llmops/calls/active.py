"""Which call engine serves captured calls right now, and whether a live call of ours is on the wire.

Shared by the litellm capture (:mod:`.capture`) and the HTTP capture (:mod:`.http_capture`).  The engine's own
live calls mark themselves with :func:`engine_live` so that the HTTP hook passes their requests through: a call
made through litellm (which uses the ``openai`` SDK and httpx underneath) is recorded once, by litellm capture.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

#: the running test's :class:`~.engine.CallEngine` (typed ``Any``: the engine imports this module)
CallEngine = Any

_active: CallEngine | None = None
_activator: Callable[[], CallEngine | None] | None = None
_live: contextvars.ContextVar[bool] = contextvars.ContextVar("llmops_engine_live", default=False)


def set_active(engine: CallEngine | None) -> None:
    """Route captured calls to ``engine`` (``None``: call through unchanged)."""
    global _active
    _active = engine


def active() -> CallEngine | None:
    return _active


def current_activator() -> Callable[[], CallEngine | None] | None:
    return _activator


def set_activator(activator: Callable[[], CallEngine | None] | None) -> None:
    """Called when a captured call finds no active engine: the plugin starts one for the running test.

    This covers the first test of a run whose app imports litellm lazily, inside the test itself.
    """
    global _activator
    _activator = activator


def engine_for_call() -> CallEngine | None:
    """The engine of the running test, or None (outside a test: calls pass through unchanged)."""
    engine = _active
    if engine is None and _activator is not None:  # an engine set explicitly but outside a test passes through
        engine = _activator()
    if engine is None or not engine.in_test():
        return None
    return engine


def in_engine_live_call() -> bool:
    """True inside one of the engine's own live calls (its HTTP requests are already being recorded)."""
    return _live.get()


@contextlib.contextmanager
def engine_live() -> Iterator[None]:
    token = _live.set(True)
    try:
        yield
    finally:
        _live.reset(token)
