"""The house rules of docs/architecture.md, checked: import layering, sizes, one copy of each rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_report
from inner_runs import configure, run

from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")  # imported once here: in-process inner runs reuse it
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pytest_llmops"


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    path = str(found) if found.exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return path


def test_import_layering_contracts_hold() -> None:
    """plugin|cli -> features -> record -> common -> errors; the core never imports pytest; no cycles anywhere."""
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout or "broken" not in result.stdout.split("Contracts:")[-1].split("kept")[-1]


def test_ruff_size_and_complexity_limits_hold() -> None:
    result = subprocess.run([_tool("ruff"), "check", "pytest_llmops"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_module_is_over_500_lines() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {path: n for path, n in sizes.items() if n > 500} == {}


def test_budget_marker_and_budget_rule_agree(pytester: pytest.Pytester) -> None:
    """One rule for budget arguments: the marker refuses tokens=1.5 like validate_budget_kwargs does."""
    pytester.makepyfile(test_b="""
        import pytest

        @pytest.mark.budget(tokens=1.5)
        def test_fractional_tokens():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_b.py::test_fractional_tokens*tokens= must be a whole number*"])


EMBED_SUITE = """
from pytest_llmops import similarity
import pytest

@pytest.mark.embedder("litellm:openai/loopback-embed")
def test_embeds():
    assert similarity("reset the password", "reset your password") > 0.0
"""


def test_litellm_embedder_belongs_to_its_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sessions in one process: the second must embed through its own call engine, not the first's."""
    monkeypatch.setenv("OPENAI_API_KEY", "loopback-not-a-secret")
    pytester.makepyfile(test_embed=EMBED_SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url, model="openai/loopback-embed")
        result, first = run(pytester, "--llmops-record-mode=all")
        assert result.ret == 0, result.stdout.str()[-3000:]
    assert [c["cached"] for c in first["tests"][0]["calls"]] == [False]
    # the server is gone: the second session can only pass by replaying through its own engine
    result, second = run(pytester)
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert [c["cached"] for c in second["tests"][0]["calls"]] == [True]
    assert load_report(pytester.path / "r.json")["totals"]["replayed_calls"] == 1
