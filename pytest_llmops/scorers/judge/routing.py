"""Where the judge's calls go: normally through the ``llm`` it was built with; a re-judge run reroutes them.

:func:`set_route` installs ``route(llm, model) -> (llm, model)``; every judge call asks :func:`route` which
client and model to use.  The plugin's ``--llmops-rejudge`` uses it to send every judge -- the ``judge``
fixture and judges a test builds itself -- to a second call engine that calls live and records nothing,
while the app's calls keep replaying from its recordings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Route = Callable[[Any, "str | None"], "tuple[Any, str | None]"]

_route: Route | None = None


def set_route(route: Route | None) -> Route | None:
    """Install ``route`` (None: the judge's own client); returns the previous one."""
    global _route
    previous, _route = _route, route
    return previous


def route(llm: Any, model: str | None) -> tuple[Any, str | None]:
    """The client and model a judge call goes to."""
    return (llm, model) if _route is None else _route(llm, model)
