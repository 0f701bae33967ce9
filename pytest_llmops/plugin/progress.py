"""The live-run progress line: live calls done, money spent against the cap, and an ETA from observed latency.

Controller-only (registered where no xdist ``workerinput`` exists).  Spend and call counts come from the run's
shared ledger (``run_dir/ledger.sqlite3``, written by every worker), latencies from the tests' reports.  It
writes through pytest's terminal reporter: at most once a second on a terminal, a plain line at most every
``NON_TTY_INTERVAL_S`` in a CI log, nothing with ``-q``, and nothing at all while no call went live.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from . import calls as _calls
from .state import RunState

TTY_INTERVAL_S = 1.0
NON_TTY_INTERVAL_S = 15.0


def eta_seconds(tests_left: int, live_latency_s: float, tests_done: int, workers: int) -> float | None:
    """Remaining tests times the live-call time observed per finished test, spread over the workers."""
    if tests_done <= 0 or live_latency_s <= 0:
        return None
    return tests_left * (live_latency_s / tests_done) / max(1, workers)


def format_line(totals: dict[str, Any], tests_done: int, tests_total: int | None, eta: float | None) -> str:
    cap = totals.get("cap_usd")
    spent = f"${float(totals.get('spent_usd') or 0):.4f}" + (f" of ${cap:.2f} cap" if cap is not None else "")
    unpriced = totals.get("unpriced_calls") or 0
    parts = [f"llmops live: {totals.get('live_calls', 0)} calls", f"spent {spent}"]
    if unpriced:
        parts.append(f"{unpriced} unpriced")
    parts.append(f"tests {tests_done}/{tests_total}" if tests_total else f"tests {tests_done}")
    if eta is not None:
        parts.append(f"ETA {_duration(eta)}")
    if totals.get("cap_hit"):
        parts.append("CAP REACHED: further live calls error")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Counts finished tests and their live-call latency; prints the progress line when it is time."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.tests_total: int | None = None
        self.tests_done = 0
        self.live_latency_s = 0.0
        self.last_print = 0.0
        self.last_calls = -1

    def _reporter(self) -> Any:
        return self.state.config.pluginmanager.get_plugin("terminalreporter")

    def _workers(self) -> int:
        workers = getattr(self.state.config.option, "numprocesses", None)
        return workers if isinstance(workers, int) and workers > 0 else 1

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tests_total = len(session.items) or self.tests_total

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.tests_total = len(ids)

    def on_report(self, report: pytest.TestReport, data: dict[str, Any] | None) -> None:
        """Called by the controller for every report (one hook for both: they run for every test phase)."""
        if report.when != "teardown":
            return
        self.tests_done += 1
        if not data or not data.get("calls"):
            return  # no model call in this test: nothing new to say
        self.live_latency_s += sum(float(c.get("latency_s") or 0) for c in data.get("calls") or []
                                   if not c.get("cached"))
        self.maybe_print()

    def maybe_print(self) -> None:
        reporter = self._reporter()
        if reporter is None or self.state.config.get_verbosity() < 0:
            return
        tty = bool(getattr(reporter, "isatty", False))
        now = time.monotonic()
        if now - self.last_print < (TTY_INTERVAL_S if tty else NON_TTY_INTERVAL_S):
            return
        totals = _calls.ledger_totals(self.state)
        if not totals.get("live_calls") or totals["live_calls"] == self.last_calls:
            return
        self.last_print, self.last_calls = now, totals["live_calls"]
        left = max(0, (self.tests_total or self.tests_done) - self.tests_done)
        eta = eta_seconds(left, self.live_latency_s, self.tests_done, self._workers())
        reporter.write_line(format_line(totals, self.tests_done, self.tests_total, eta),
                            cyan=tty, bold=False)
