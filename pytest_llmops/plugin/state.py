"""The run state every process of a run keeps (the controller and each xdist worker): options and shared data.

Plain data with public fields; the glue modules read and write it.  Created by ``pytest_configure`` and kept in
``config.stash``.  Nothing heavy is imported here.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ..errors import ConfigError
from ..record.collector import RunCollector
from .options import OPTIONS, parse_prices, resolve

STATE_KEY = pytest.StashKey["RunState"]()


def state_of(config: pytest.Config) -> RunState:
    return config.stash[STATE_KEY]


def _utcnow() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class RunState:
    """What one pytest process knows about the run.  Fields are public; each is owned by one glue module."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rootpath = Path(config.rootpath)
        self.options: dict[str, Any] = {}
        for opt in OPTIONS:
            cli = config.getoption(f"llmops_{opt.dest}", None) if opt.flag else None
            ini = config.getini(opt.ini) if opt.ini else None
            self.options[opt.dest] = resolve(opt.dest, cli, ini)
        self.report_path = self._output_path("report")
        self.baseline_path = self._baseline_path()
        self.history_path = self._history_path()
        self.prices = parse_prices(self.options["prices"])
        if self.options["fail_on"]:
            from ..review.failon import parse_fail_on

            parse_fail_on(self.options["fail_on"])  # a bad rule is a usage error now, not a surprise at the end
        self.collect_all = bool(self.report_path or self.baseline_path or os.environ.get("GITHUB_STEP_SUMMARY"))
        self.started_at = _utcnow()
        self.partial_selection = any("::" in str(arg) for arg in config.invocation_params.args)
        self.interrupted = False
        # shared between controller and workers: the cost ledger and call slots live in this directory
        given = getattr(config, "workerinput", {}).get("llmops_run_dir")
        self._run_dir: Path | None = Path(given) if given else None
        self.owns_run_dir = False
        # per-feature state (owned by the glue module named in the comment)
        self.collector = RunCollector()  # controller: per-test data from reports
        self.engine: Any = None  # calls: the CallEngine, built on first use
        self.outer_activator: Any = None  # calls: a nested (pytester) run restores the outer one
        self.current_item: pytest.Item | None = None  # per_test
        self.registries: dict[Path, Any] = {}  # assets: prompt registries by directory
        self.golden_sets: dict[str, dict[str, Any]] = {}  # assets: golden sets seen at collection
        self.similarity_ready = False  # similarity
        self.litellm_embedders: dict[str, Any] = {}  # similarity: ``litellm:`` embedders of this run
        self.final_lines: list[str] = []  # controller: lines for the llmops terminal section
        self.record: dict[str, Any] | None = None  # controller: the run record, once built

    def option(self, dest: str) -> Any:
        return self.options[dest]

    def has_record(self) -> bool:
        """Whether this run has a record to build: asked for (report, baseline, step summary) or llmops data."""
        return self.collect_all or any("markers" in e for e in self.collector.entries.values())

    def run_dir(self) -> Path:
        """A directory shared by the controller and its workers for run-wide state (cost ledger, slots)."""
        if self._run_dir is None:
            self._run_dir = Path(tempfile.mkdtemp(prefix="llmops-run-"))
            self.owns_run_dir = True
        return self._run_dir

    def existing_run_dir(self) -> Path | None:
        return self._run_dir

    def _baseline_path(self) -> Path | None:
        """``--llmops-baseline``: an existing file, else a name stored in ``llmops_baselines_dir``."""
        value = self.options["baseline"]
        if not value:
            return None
        from ..review.baseline import resolve

        cli_given = self.config.getoption("llmops_baseline", None) is not None
        base = self.config.invocation_params.dir if cli_given else self.rootpath
        flag = "--llmops-baseline" if cli_given else "ini llmops_baseline"
        try:
            return resolve(value, Path(base), self.rootpath / self.options["baselines_dir"])
        except ConfigError as exc:
            raise ConfigError(f"{flag}: {exc}") from None

    def _history_path(self) -> Path | None:
        """``--llmops-history``: an existing directory or file of nightly records (used with a baseline)."""
        value = self.options["history"]
        cli_given = self.config.getoption("llmops_history", None) is not None
        if not value or (self.baseline_path is None and not cli_given):
            return None  # an ini default without a baseline has nothing to do
        flag = "--llmops-history" if cli_given else "ini llmops_history"
        if self.baseline_path is None:
            raise ConfigError(f"{flag}: the history is the noise model of a comparison; add --llmops-baseline=BASE")
        path = (Path(self.config.invocation_params.dir if cli_given else self.rootpath) / value).resolve()
        if not path.exists():
            raise ConfigError(f"{flag}: {path} does not exist; pass a directory (or file) of nightly run records")
        return path

    def _output_path(self, dest: str, must_exist: bool = False) -> Path | None:
        value = self.options[dest]
        if not value:
            return None
        cli_given = self.config.getoption(f"llmops_{dest}", None) is not None
        base = self.config.invocation_params.dir if cli_given else self.rootpath
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
