"""The controller-only plugin object: collects every test's data, writes the run record, prints the summary.

Registered only in the process that is not an xdist worker (as xdist registers its ``DSession``), so none of
its hooks need to ask which process they run in.  Only this object writes files that belong to the whole run.
"""

from __future__ import annotations

from typing import Any

import pytest

from .state import RunState


class Controller:
    def __init__(self, state: RunState, progress: Any = None) -> None:
        self.state = state
        self.progress = progress
        self._held: dict[str, list[pytest.TestReport]] = {}  # phase reports of tests with no llmops data (yet)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["llmops_run_dir"] = str(self.state.run_dir())

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.state.partial_selection = True

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.state.collector.add_collection_error(report.nodeid, str(report.longrepr))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, "llmops", None)
        if self.progress is not None:
            self.progress.on_report(report, data)
        nodeid = report.nodeid
        if not data and not self.state.collect_all and nodeid not in self.state.collector.entries:
            # only tests with llmops data go into a record nobody asked for: hold the phase until the test's
            # data arrives (its teardown report), drop it when the test ends without any
            if report.when == "teardown":
                self._held.pop(nodeid, None)
            else:
                self._held.setdefault(nodeid, []).append(report)
            return
        for earlier in self._held.pop(nodeid, ()):
            self._collect(earlier)
        self._collect(report)

    def _collect(self, report: pytest.TestReport) -> None:
        self.state.collector.add_phase(
            nodeid=report.nodeid,
            when=report.when,
            outcome=report.outcome,
            duration=report.duration,
            wasxfail=hasattr(report, "wasxfail"),
            longrepr=None if report.passed else str(report.longrepr),
            data=getattr(report, "llmops", None),
            error_kind=getattr(report, "llmops_error_kind", None),
            worker=getattr(getattr(report, "node", None), "gateway", None) and report.node.gateway.id,  # type: ignore[attr-defined]
        )

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.state.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.state.has_record():
            return  # nothing of llmops ran: not even the module that writes records is loaded
        from .finish import finish_run

        finish_run(self.state, session, int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        from .summary import write_terminal_summary

        write_terminal_summary(self.state, terminalreporter)
