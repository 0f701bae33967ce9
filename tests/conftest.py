from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# pytester's in-process runs restore sys.modules afterwards; C extensions (PyYAML's _yaml, numpy) cannot be
# imported twice in one process, so import them once here, outside every inner run.
# Pure-Python libraries too: core modules cache objects of theirs (a jinja2 environment, pydantic models).
import jinja2.sandbox  # noqa: F401,E402
import jsonschema  # noqa: F401,E402
import numpy  # noqa: F401,E402
import pydantic  # noqa: F401,E402
import pytest
import scipy.stats  # noqa: F401,E402
import yaml  # noqa: F401,E402

import pytest_llmops.scorers.similarity  # noqa: F401,E402  (module state set by the plugin per test)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_report(path: Path) -> dict[str, Any]:
    """Read a run record written by a pytester run and validate it against the shipped schema."""
    from pytest_llmops.record.io import validate_data

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    validate_data(data, Path(path))
    return data


def by_nodeid(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["nodeid"]: t for t in report["tests"]}


@pytest.fixture
def report_of():
    return load_report


class _Since:
    """The metrics a recorder received since this object was made."""

    def __init__(self, recorder: Any) -> None:
        self._recorder, self._start = recorder, len(recorder.metrics)

    @property
    def metrics(self) -> list[Any]:
        return self._recorder.metrics[self._start :]


@pytest.fixture
def recorder(request: pytest.FixtureRequest):
    """The metrics scorers record during this test (works with and without the llmops plugin active)."""
    from pytest_llmops.record.recorder import begin_test, current_test, end_test

    running = current_test()
    if running is not None:  # the llmops plugin is active and owns this test's recorder
        yield _Since(running)
        return
    begin_test(request.node.nodeid)
    yield _Since(current_test())
    end_test()
