"""pytest glue for ``--llmops-rejudge``: judge calls go live to a second call engine; the app's calls replay.

The second engine copies the run's call settings (prices, retries, the cost ledger) with record mode
``off``: it reads and writes no recording, so the app's recordings stay exactly as they were.  It is begun
for the running test and its recorder on the judge's first call, so the live judge calls are metered on the
test like any other call.  ``--llmops-judge-model`` picks the re-judging model (default: the judge's own).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ..errors import ConfigError
from ..record.recorder import current_test
from . import calls as _calls
from .state import RunState

_KEY = pytest.StashKey["_Rejudge"]()


@dataclasses.dataclass
class _Rejudge:
    previous: Any
    engine: Any = None
    test: tuple[str, int] | None = None


def install(state: RunState) -> None:
    """Route every judge call of this run to the re-judge engine (only with ``--llmops-rejudge``)."""
    if not state.option("rejudge"):
        return
    if state.option("record_mode") == "all" or state.option("prune_recordings"):
        raise ConfigError("--llmops-rejudge keeps the app's recordings as they are: it cannot be combined with "
                          "--llmops-record-mode=all or --llmops-prune-recordings")
    from ..scorers.judge.routing import set_route

    state.config.stash[_KEY] = _Rejudge(set_route(lambda llm, model: _route(state, llm, model)))


def uninstall(state: RunState) -> None:
    rejudge = state.config.stash.get(_KEY, None)
    if rejudge is None:
        return
    from ..scorers.judge.routing import set_route

    set_route(rejudge.previous)
    if rejudge.engine is not None and rejudge.engine.settings.ledger is None:
        rejudge.engine.close()


def _route(state: RunState, llm: Any, model: str | None) -> tuple[Any, str | None]:
    from ..calls.client import LLM
    from ..calls.engine import CallEngine

    rejudge = state.config.stash[_KEY]
    if rejudge.engine is None:
        settings = dataclasses.replace(_calls.engine(state).settings, record_mode="off")
        rejudge.engine = CallEngine(settings)
    item, recorder = state.current_item, current_test()
    if item is None or recorder is None:
        return llm, model
    if rejudge.test != (item.nodeid, id(recorder)):
        rejudge.engine.begin_test(item.nodeid, recorder, None)  # mode off: no cassette is read or written
        rejudge.test = (item.nodeid, id(recorder))
    chosen = state.option("judge_model") or model or getattr(llm, "model", None)
    params = dict(getattr(llm, "params", {}))
    return LLM(rejudge.engine, model=chosen, **params), chosen
