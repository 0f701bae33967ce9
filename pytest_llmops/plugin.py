"""pytest glue: options, markers, fixtures and hooks, each a few lines calling into the core.

Loaded through the ``pytest11`` entry point ``llmops`` (disable with ``-p no:llmops``).  Nothing heavy is
imported here; the session object imports the pieces a run actually uses.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from . import recorder as _recorder
from .errors import ConfigError, InfrastructureError, LlmopsError
from .markers import MARKERS
from .options import OPTIONS
from .session import LlmopsSession, session_of

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
        session = LlmopsSession(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-llmops: {exc}") from None
    config.pluginmanager.register(session, "llmops-session")


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def llmops(request: pytest.FixtureRequest) -> _recorder.TestRecorder:
    """The running test's record: ``llmops.metric(name, value, min=...)``, ``note``, ``artifact``, ``approved``."""
    return session_of(request.config).recorder_api(request)


@pytest.fixture
def llm(request: pytest.FixtureRequest) -> Any:
    """Model calls through the record/replay, metering and budget layer: ``llm.complete(messages)``."""
    return session_of(request.config).llm_client(request)


@pytest.fixture
def judge(request: pytest.FixtureRequest) -> Any:
    """LLM-as-judge over the same call layer: ``judge.check(text, criteria=..., min_score=4)``, ``compare``."""
    return session_of(request.config).judge_for(request)


@pytest.fixture
def prompts(request: pytest.FixtureRequest) -> Any:
    """The prompt registry nearest to the test file (or ini ``llmops_prompts``)."""
    return session_of(request.config).prompt_registry(request.path)


@pytest.fixture
def prompt(request: pytest.FixtureRequest) -> Any:
    """The prompt version selected by ``@pytest.mark.prompt`` (one per version with ``versions=[...]``)."""
    return session_of(request.config).prompt_for(request)


@pytest.fixture
def golden_case(request: pytest.FixtureRequest) -> Any:
    """The golden case of this test item (``@pytest.mark.golden``)."""
    return session_of(request.config).golden_case_for(request)


@pytest.fixture
def llmops_embedder(request: pytest.FixtureRequest) -> Any:
    """Similarity backend used by ``assert_similar`` in this test; override it in a conftest."""
    return session_of(request.config).embedder_for(request)


# -- collection ----------------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    session = session_of(metafunc.config)
    if session is not None:
        session.parametrize(metafunc)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session_of(config).check_items(items)


# -- running -------------------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    session = session_of(item.config)
    session.begin_test(item)
    try:
        return (yield)
    finally:
        session.end_test(item)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    return session_of(pyfuncitem.config).run_sampled(pyfuncitem)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    problem = session_of(item.config).check_budget(item)
    if problem:
        pytest.fail(problem, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(LlmopsError):
        # our own errors carry a message that says what, where and what to do: show it without a traceback
        error = call.excinfo.value
        report.longrepr = f"{type(error).__name__}: {error}"
        if isinstance(error, InfrastructureError):
            report.llmops_error_kind = session_of(item.config).error_kind(error)  # type: ignore[attr-defined]
    session_of(item.config).attach(item, report)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and report.failed and getattr(report, "llmops_error_kind", None):
        return "error", "E", ("ERROR", {"red": True})
    return None
