"""The plugin's per-run state and the hooks that only matter when a run uses pytest-llmops.

This is pytest glue (it imports pytest); everything it computes lives in the core modules.  Registered as a
plugin object by ``pytest_configure``; under xdist one instance lives in the controller and one in each
worker.  Only the process that is not an xdist worker writes files that belong to the whole run.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from . import recorder as _recorder
from .collector import RunCollector
from .errors import (
    BudgetExceeded,
    ConfigError,
    GoldenError,
    JudgeError,
    LlmopsError,
    ProviderError,
    RecordingError,
    RecordingMissing,
)
from .markers import check_marker, json_safe
from .options import OPTIONS, parse_prices, resolve

_OUR_MARKERS = frozenset({"golden", "prompt", "sampling", "budget", "llm", "aggregate", "embedder", "live_local"})
SESSION_KEY = pytest.StashKey["LlmopsSession"]()


def session_of(config: pytest.Config) -> "LlmopsSession":
    return config.stash[SESSION_KEY]


def _utcnow() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class LlmopsSession:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.options: dict[str, Any] = {}
        for opt in OPTIONS:
            cli = config.getoption(f"llmops_{opt.dest}", None) if opt.flag else None
            ini = config.getini(opt.ini) if opt.ini else None
            self.options[opt.dest] = resolve(opt.dest, cli, ini)
        self.is_worker = hasattr(config, "workerinput")
        self.worker_id: str | None = config.workerinput.get("workerid") if self.is_worker else None  # type: ignore[attr-defined]
        self.report_path = self._output_path("report")
        self.baseline_path = self._output_path("baseline", must_exist=True)
        self.prices = parse_prices(self.options["prices"])
        if self.options["fail_on"]:
            from .review.failon import parse_fail_on

            parse_fail_on(self.options["fail_on"])  # a bad rule is a usage error now, not a surprise at the end
        self.collect_all = bool(self.report_path or self.baseline_path or os.environ.get("GITHUB_STEP_SUMMARY"))
        self.started_at = _utcnow()
        self.collector = RunCollector()
        self.interrupted = False
        self._run_dir: Path | None = None
        self._own_run_dir = False
        self._engine: Any = None
        self._registries: dict[Path, Any] = {}
        self._golden_sets: dict[str, dict[str, Any]] = {}
        self._seen_cassettes: set[str] = set()
        self._final_lines: list[str] = []
        self.partial_selection = any("::" in str(arg) for arg in config.invocation_params.args)
        from .calls import capture  # cheap: a post-import hook that patches litellm when the app imports it

        capture.install()
        self._outer_activator = capture._activator  # a nested (pytester) session restores the outer one
        capture.set_activator(self.activate_calls)
        self._current_item = None
        self._similarity_ready = False
        if "pytest_llmops.scorers.similarity" in sys.modules or self.options["embedder"] != "sentence-transformers":
            self.setup_similarity()
        config.stash[SESSION_KEY] = self

    # -- options -------------------------------------------------------------------------------------------
    def _output_path(self, dest: str, must_exist: bool = False) -> Path | None:
        value = self.options[dest]
        if not value:
            return None
        cli_given = self.config.getoption(f"llmops_{dest}", None) is not None
        base = self.config.invocation_params.dir if cli_given else self.config.rootpath
        path = (Path(base) / value).resolve()
        flag = f"--llmops-{dest}" if cli_given else f"ini llmops_{dest}"
        if must_exist:
            if not path.is_file():
                raise ConfigError(f"{flag}: {path} does not exist; pass the run record of the base run")
            return path
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if path.is_dir() or not os.access(parent, os.W_OK):
            raise ConfigError(f"{flag}: cannot write {path}; choose a writable file path")
        return path

    def option(self, dest: str) -> Any:
        return self.options[dest]

    # -- xdist ---------------------------------------------------------------------------------------------
    def run_dir(self) -> Path:
        """A directory shared by the controller and its workers for run-wide state (cost ledger, slots)."""
        if self._run_dir is None:
            given = getattr(self.config, "workerinput", {}).get("llmops_run_dir")
            if given:
                self._run_dir = Path(given)
            else:
                self._run_dir = Path(tempfile.mkdtemp(prefix="llmops-run-"))
                self._own_run_dir = True
        return self._run_dir

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.partial_selection = True

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["llmops_run_dir"] = str(self.run_dir())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from .calls import capture

        capture.set_active(None)
        capture.set_activator(self._outer_activator)
        capture.uninstall()
        if self._engine is not None:
            self._engine.close()
        if self._own_run_dir and self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)

    # -- collection ----------------------------------------------------------------------------------------
    def parametrize(self, metafunc: pytest.Metafunc) -> None:
        golden = metafunc.definition.get_closest_marker("golden")
        prompt = metafunc.definition.get_closest_marker("prompt")
        if golden is None and (prompt is None or not prompt.kwargs.get("versions")):
            return
        from .params import parametrize_golden, parametrize_prompt_versions

        if golden is not None:
            parametrize_golden(self, metafunc, golden)
        if prompt is not None and prompt.kwargs.get("versions"):
            parametrize_prompt_versions(self, metafunc, prompt)

    def check_items(self, items: list[pytest.Item]) -> None:
        problems = []
        for item in items:
            for mark in item.iter_markers():
                if mark.name not in _OUR_MARKERS:
                    continue
                try:
                    check_marker(mark.name, mark.args, mark.kwargs)
                    if mark.name == "sampling":
                        from .sampling_glue import check_sampling_marker

                        check_sampling_marker(self, item, mark)
                except ConfigError as exc:
                    problems.append(f"{item.nodeid}: {exc}")
        if problems:
            raise pytest.UsageError("pytest-llmops: bad marker arguments:\n  " + "\n  ".join(problems))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not self.is_worker:
            self.collector.add_collection_error(report.nodeid, str(report.longrepr))

    # -- per test ------------------------------------------------------------------------------------------
    def begin_test(self, item: pytest.Item) -> None:
        _recorder.begin_test(item.nodeid)
        self._current_item: pytest.Item | None = item
        if not self._similarity_ready and "pytest_llmops.scorers.similarity" in sys.modules:
            self.setup_similarity()
        if self._similarity_ready:
            from .scorers import similarity
            from .similarity_glue import provider_for

            similarity.set_test_embedder_provider(provider_for(self, item))

    def activate_calls(self) -> Any:
        """Start the model-call layer for the running test: when the ``llm``/``judge`` fixture is set up, or on
        the test's first captured litellm call.  Tests that make no model call never load a recording."""
        item = getattr(self, "_current_item", None)
        if item is None:
            return None
        from .calls import capture

        engine = self.engine()
        if not engine.in_test():
            engine.begin_test(item.nodeid, _recorder.current_test(), self.cassette_path(item))
            capture.set_active(engine)
        return engine

    def _end_calls(self) -> None:
        if self._engine is not None and self._engine.in_test():
            from .calls import capture

            capture.set_active(None)
            self._engine.end_test()

    def end_test(self, item: pytest.Item) -> None:
        self._current_item = None
        self._end_calls()
        _recorder.end_test()
        if self._similarity_ready:
            from .scorers import similarity

            similarity.set_test_embedder_provider(None)

    def recorder_api(self, request: pytest.FixtureRequest) -> _recorder.TestRecorder:
        from .approvals import RecorderWithApprovals

        rec = _recorder.current_test()
        assert rec is not None
        return RecorderWithApprovals.wrap(rec, self, request)

    def run_sampled(self, item: pytest.Function) -> bool | None:
        if item.get_closest_marker("sampling") is None:
            return None
        from .sampling_glue import run_sampled_item

        return run_sampled_item(self, item)

    def error_kind(self, exc: BaseException) -> str:
        for kind, cls in (("budget", BudgetExceeded), ("recording", RecordingMissing), ("judge", JudgeError),
                          ("provider", ProviderError)):
            if isinstance(exc, cls):
                return kind
        return getattr(exc, "error_kind", "infrastructure")

    def attach(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Put this test's data on its report as plain builtins (they travel through xdist)."""
        if report.when == "call" and getattr(report, "llmops_error_kind", None):
            item.stash[_ERROR_KIND] = report.llmops_error_kind  # type: ignore[attr-defined]
        if report.when != "teardown" and not (report.when == "setup" and report.failed):
            return
        if report.when == "teardown":
            self._end_calls()  # writes the cassette and notes used/recorded/unused entries on the recorder
        rec = _recorder.peek_current_test()
        if rec is None and not self.collect_all:
            return
        data: dict[str, Any] = rec.to_dict() if rec is not None else {}
        if self.option("redact_pii") and data:
            from .redaction import redact_record_text

            data = redact_record_text(data)
        data["markers"] = [
            {"name": m.name, "args": json_safe(list(m.args)), "kwargs": _scrub_kwargs(json_safe(dict(m.kwargs)))}
            for m in item.iter_markers()
            if m.name in _OUR_MARKERS or m.name in ("parametrize", "skip", "skipif", "xfail")
        ]
        report.llmops = data  # type: ignore[attr-defined]

    def check_budget(self, item: pytest.Item) -> str | None:
        """After the test body: the figures of a blown ``@pytest.mark.budget``, or None."""
        mark = item.get_closest_marker("budget")
        rec = _recorder.peek_current_test()
        if mark is None or rec is None or not rec.calls:
            return None
        from .calls.budget import check_budget

        problems = check_budget(rec.calls, **mark.kwargs)
        rec.budget = {"limits": dict(mark.kwargs), "violations": problems}
        if not problems:
            return None
        return "budget exceeded: " + "; ".join(problems)

    # -- controller: collecting and writing ----------------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        data = getattr(report, "llmops", None)
        when = report.when
        outcome = report.outcome
        self.collector.add_phase(
            nodeid=report.nodeid,
            when=when,
            outcome=outcome,
            duration=report.duration,
            wasxfail=hasattr(report, "wasxfail"),
            longrepr=None if report.passed else str(report.longrepr),
            data=data,
            error_kind=getattr(report, "llmops_error_kind", None),
            worker=getattr(getattr(report, "node", None), "gateway", None) and report.node.gateway.id,  # type: ignore[attr-defined]
        )

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker:
            return
        from .finish import finish_run

        finish_run(self, session, int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.is_worker:
            return
        from .summary import write_terminal_summary

        write_terminal_summary(self, terminalreporter)

    def setup_similarity(self) -> None:
        """Called when similarity scorers are first imported (or an embedder is configured)."""
        if not self._similarity_ready:
            from .similarity_glue import configure

            configure(self)
            self._similarity_ready = True

    # -- lazily built services -----------------------------------------------------------------------------
    def engine(self) -> Any:
        if self._engine is None:
            from .calls_glue import build_engine

            self._engine = build_engine(self)
        return self._engine

    def cassette_path(self, item: pytest.Item) -> Path:
        from .calls_glue import cassette_path

        return cassette_path(self, item)

    def llm_client(self, request: pytest.FixtureRequest) -> Any:
        from .calls_glue import llm_client

        return llm_client(self, request)

    def judge_for(self, request: pytest.FixtureRequest) -> Any:
        from .calls_glue import judge_for

        return judge_for(self, request)

    def prompt_registry(self, test_path: Path) -> Any:
        from .params import registry_for

        return registry_for(self, Path(test_path))

    def prompt_for(self, request: pytest.FixtureRequest) -> Any:
        from .params import prompt_for

        return prompt_for(self, request)

    def golden_case_for(self, request: pytest.FixtureRequest) -> Any:
        from .params import golden_case_for

        return golden_case_for(self, request)

    def embedder_for(self, request: pytest.FixtureRequest) -> Any:
        mark = request.node.get_closest_marker("embedder")
        return mark.args[0] if mark else self.option("embedder")


_ERROR_KIND = pytest.StashKey[str]()


def _scrub_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Marker arguments go into the record: hide secret-named ones (``api_key=``) and known secret values."""
    from .meta import REDACTED, SECRET_ARG, scrub_text

    return {
        key: REDACTED if SECRET_ARG.search(key) else (scrub_text(value) if isinstance(value, str) else value)
        for key, value in kwargs.items()
    }


__all__ = ["LlmopsSession", "session_of", "LlmopsError", "GoldenError", "RecordingError"]


def _ledger_totals(self: LlmopsSession) -> dict[str, Any]:
    ledger = getattr(self._engine, "settings", None) and self._engine.settings.ledger
    opened = None
    shared = self._run_dir / "ledger.sqlite3" if self._run_dir is not None else None
    try:
        if ledger is None and shared is not None and shared.is_file():  # xdist controller: the workers' ledger
            from .calls.ledger import RunLedger

            ledger = opened = RunLedger(shared, max_cost_usd=self.option("max_cost_usd"))
        if ledger is None:
            return {}
        return dict(ledger.totals())
    except Exception:  # noqa: BLE001 - a broken ledger must not lose the report
        return {}
    finally:
        if opened is not None:
            opened.close()


LlmopsSession.ledger_totals = _ledger_totals  # type: ignore[attr-defined]
