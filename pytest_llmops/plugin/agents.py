"""pytest glue for agents and conversations: trajectories from the recorded calls, the ``conversation`` fixture."""

from __future__ import annotations

from typing import Any

import pytest

from ..record import recorder as _recorder
from .state import RunState

_PREVIOUS_PROVIDER = pytest.StashKey[Any]()


def current_entries(state: RunState) -> dict[str, dict[str, Any]]:
    """The recordings (full key -> cassette entry) of the running test's calls, from the engine's cassette.

    In record mode ``off`` there is no cassette, so there is nothing to derive a trajectory from.
    """
    engine = state.engine
    test_state = getattr(engine, "_state", None)  # no public accessor on CallEngine yet (see docs/agents.md)
    cassette = getattr(test_state, "cassette", None)
    return dict(cassette.entries) if cassette is not None else {}


def install(state: RunState) -> None:
    """Point the recorders' trajectory at this run's call engine (a nested pytester run restores the outer)."""
    previous = _recorder.set_exchange_provider(lambda: current_entries(state))
    state.config.stash[_PREVIOUS_PROVIDER] = previous


def uninstall(config: pytest.Config) -> None:
    if _PREVIOUS_PROVIDER in config.stash:
        _recorder.set_exchange_provider(config.stash[_PREVIOUS_PROVIDER])


def freeze_trajectory() -> None:
    """After the test body and its fixtures, before the cassette is written and forgotten: keep the steps."""
    rec = _recorder.peek_current_test()
    if rec is not None and rec.calls:
        rec.freeze_trajectory()


def conversation_for(state: RunState, request: pytest.FixtureRequest) -> Any:
    from ..scorers.conversation import Conversation
    from ..scorers.simulate import simulate_user

    case = None
    if request.node.get_closest_marker("golden") is not None and "golden_case" in request.fixturenames:
        case = request.getfixturevalue("golden_case")
    _recorder.current_test()  # the conversation is recorded even if the app makes no model call

    class PytestConversation(Conversation):
        """``conversation.run(respond)`` over the golden case's turns; ``conversation.simulate(app, ...)``."""

        def simulate(self, app: Any, **kwargs: Any) -> Any:
            """:func:`~pytest_llmops.scorers.simulate.simulate_user` with the test's ``llm`` fixture."""
            llm = kwargs.pop("llm", None) or request.getfixturevalue("llm")
            if "case" not in kwargs and case is not None:
                kwargs["case"] = case.id
            return simulate_user(app, llm=llm, conversation=self, **kwargs)

    return PytestConversation(case)
