"""pytest glue: options, markers, fixtures and hooks, each a few lines calling the glue module of its feature.

Loaded through the ``pytest11`` entry point ``llmops`` (disable with ``-p no:llmops``).  This package is the only
one that knows pytest (with ``testing/``); nothing heavy is imported here: each glue module imports the core
pieces a run actually uses, when it uses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ..errors import ConfigError, InfrastructureError
from . import agents as _agents
from . import assets as _assets
from . import calls as _calls
from . import junit as _junit
from . import network_guard as _network_guard
from . import outcomes as _outcomes
from . import per_test as _per_test
from . import rejudge as _rejudge
from . import similarity as _similarity
from .controller import Controller
from .markers import MARKERS
from .options import OPTIONS
from .state import STATE_KEY, RunState, state_of

# -- options and markers -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmops", "pytest-llmops: regression tests for LLM applications")
    for opt in OPTIONS:
        if opt.flag:
            if opt.is_flag:
                group.addoption(opt.flag, action="store_true", dest=f"llmops_{opt.dest}", default=None, help=opt.help)
            else:
                group.addoption(opt.flag, action="store", dest=f"llmops_{opt.dest}", default=None,
                                metavar=opt.metavar, help=opt.help)
        if opt.ini:
            parser.addini(opt.ini, opt.help, type=opt.ini_type, default=None)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    for name, usage in MARKERS.items():
        config.addinivalue_line("markers", usage if usage.startswith(name) else f"{name}: {usage}")
    try:
        state = RunState(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-llmops: {exc}") from None
    config.stash[STATE_KEY] = state
    _calls.install_capture(state)
    _agents.install(state)
    try:
        _rejudge.install(state)
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-llmops: {exc}") from None
    _similarity.setup_if_used(state)
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) owns the run's files
        from .progress import Progress

        progress = Progress(state)
        config.pluginmanager.register(progress, "llmops-progress")
        config.pluginmanager.register(Controller(state, progress), "llmops-controller")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None:
        _rejudge.uninstall(state)
        _calls.shutdown(state)


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def llmops(request: pytest.FixtureRequest) -> Any:
    """The running test's record: ``llmops.metric(name, value, min=...)``, ``note``, ``artifact``, ``approved``."""
    return _per_test.recorder_api(state_of(request.config), request)


@pytest.fixture
def llm(request: pytest.FixtureRequest) -> Any:
    """Model calls through the record/replay, metering and budget layer: ``llm.complete(messages)``."""
    return _calls.llm_client(state_of(request.config), request)


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Any:
    """LLM-as-judge over the same call layer: ``judge.check(text, criteria=..., min_score=4)``, ``compare``."""
    return _calls.judge_for(state_of(request.config), request)


@pytest.fixture
def prompts(request: pytest.FixtureRequest) -> Any:
    """The prompt registry nearest to the test file (or ini ``llmops_prompts``)."""
    return _assets.registry_for(state_of(request.config), request.path)


@pytest.fixture
def prompt(request: pytest.FixtureRequest) -> Any:
    """The prompt version selected by ``@pytest.mark.prompt`` (one per version with ``versions=[...]``)."""
    return _assets.prompt_for(state_of(request.config), request)


@pytest.fixture
def golden_case(request: pytest.FixtureRequest) -> Any:
    """The golden case of this test item (``@pytest.mark.golden``)."""
    return _assets.golden_case_for(state_of(request.config), request)


@pytest.fixture
def llmops_embedder(request: pytest.FixtureRequest) -> Any:
    """Similarity backend used by ``assert_similar`` in this test; override it in a conftest."""
    return _similarity.embedder_for(state_of(request.config), request)


@pytest.fixture
def conversation(request: pytest.FixtureRequest) -> Any:
    """Multi-turn runs: ``conversation.run(respond)`` over the golden case's ``turns``; ``conversation.simulate``."""
    return _agents.conversation_for(state_of(request.config), request)


# -- collection ----------------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    _assets.parametrize(state_of(metafunc.config), metafunc)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = state_of(config)
    _per_test.check_items(state, items)
    if state.option("affected"):
        from . import affected

        affected.select(state, items)
    if state.option("plan"):
        from .plan import apply

        apply(state, config, items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = state_of(session.config)
    if state.option("affected") and not hasattr(session.config, "workerinput"):
        from . import affected

        affected.carry_over(state)  # before the controller writes the record (its hook is trylast)
    if state.option("plan") and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK  # a plan runs nothing on purpose


# -- running -------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    state = state_of(item.config)
    _per_test.begin_test(state, item)
    _network_guard.arm(state, item)
    try:
        return (yield)
    finally:
        _network_guard.disarm()
        _per_test.end_test(state, item)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not _per_test.has_mark(pyfuncitem, "sampling"):
        return None
    from .sampling import run_sampled_item

    return run_sampled_item(state_of(pyfuncitem.config), pyfuncitem)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    if _per_test.has_mark(item, "judge_audit"):
        from .judge_audit import run_audit

        run_audit(state_of(item.config), item)
    problem = _per_test.check_budget(item)
    if problem:
        pytest.fail(problem, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    if call.when == "teardown":
        _agents.freeze_trajectory()  # before this report's data is attached and the cassette forgotten
    report = yield
    error = _calls.llmops_cause(call.excinfo.value) if call.excinfo is not None else None  # also SDK-wrapped
    if error is not None:
        # our own errors carry a message that says what, where and what to do: show it without a traceback
        report.longrepr = f"{type(error).__name__}: {error}"
        if isinstance(error, InfrastructureError) or _outcomes.is_usage_error(error):
            report.llmops_error_kind = _outcomes.error_kind(error)  # type: ignore[attr-defined]
    _network_guard.on_report(item, report)
    _per_test.attach(state_of(item.config), item, report)
    if report.when == "teardown" and isinstance(getattr(report, "llmops", None), dict):
        from . import affected

        affected.fingerprint(state_of(item.config), item, report.llmops)  # type: ignore[attr-defined]
    _junit.add_properties(item.config, report)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and report.failed and getattr(report, "llmops_error_kind", None):
        return "error", "E", ("ERROR", {"red": True})
    return None
