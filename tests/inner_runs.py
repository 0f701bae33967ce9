"""Helpers for tests that run an inner pytest session against a LoopbackServer and read its run record."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import load_report

from pytest_llmops.testing.loopback import LoopbackServer

MODEL = "openai/loopback-model"
PRICE_IN, PRICE_OUT = 1000.0, 2000.0  # USD per 1M tokens: big enough to see every call's cost


def configure(pytester: pytest.Pytester, base_url: str, *, model: str = MODEL, prices: bool = True,
              extra: tuple[str, ...] = ()) -> None:
    """An ini pointing the llm fixture at the loopback server, with a price for its model unless told not to."""
    lines = ["[pytest]", f"llmops_model = {model}", f"llmops_api_base = {base_url}", *extra]
    if prices:
        lines += ["llmops_prices =", f"    {model} = {PRICE_IN:g} {PRICE_OUT:g}"]
    pytester.makeini("\n".join(lines) + "\n")


def run(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run the inner session with --llmops-report and return its result and validated record."""
    report = pytester.path / "r.json"
    report.unlink(missing_ok=True)
    argv = ("-p", "no:cacheprovider", "-q", "--llmops-report=r.json", *args)
    result = pytester.runpytest_subprocess(*argv) if subprocess else pytester.runpytest(*argv)
    assert report.is_file(), result.stdout.str()[-3000:] + result.stderr.str()[-3000:]
    return result, load_report(report)


def model_requests(server: LoopbackServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"].startswith("/v1/") and r["method"] == "POST"]
