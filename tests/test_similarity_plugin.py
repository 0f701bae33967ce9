"""Similarity scorers through real pytest runs: embedder from ini, marker and conftest fixture override."""

from __future__ import annotations

import pytest
from conftest import by_nodeid, load_report

SUITE = """
import pytest
from pytest_llmops import assert_similar

def test_default_from_ini():
    assert_similar("reset your password from the login page", "use the login page to reset the password", min_score=0.3)

@pytest.mark.embedder("lexical")
def test_marker():
    assert_similar("refunds within 30 days", "we refund within 30 days", min_score=0.3)

def test_miss():
    assert_similar("the sky is blue", "invoices are sent monthly", min_score=0.9)
"""


def test_embedder_resolution_and_record(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmops_embedder = lexical\n")
    pytester.makepyfile(test_sim=SUITE)
    result = pytester.runpytest("--llmops-report=r.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*similarity*0.9*"])
    tests = by_nodeid(load_report(pytester.path / "r.json"))
    metric = tests["test_sim.py::test_default_from_ini"]["metrics"][0]
    assert metric["name"] == "similarity" and metric["details"]["backend"] == "lexical"
    assert tests["test_sim.py::test_miss"]["metrics"][0]["passed"] is False


def test_conftest_fixture_override(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest
        from pytest_llmops.scorers.embedders import CallableEmbedder

        @pytest.fixture
        def llmops_embedder():
            # a conftest pointing at its own model: here a toy embedder that ignores the text
            return CallableEmbedder("toy", "constant", "1", lambda texts: [[1.0, 0.0] for _ in texts])
    """)
    pytester.makepyfile(test_sim="""
        from pytest_llmops import assert_similar
        def test_any():
            assert assert_similar("apples", "the stock market", min_score=0.99) == 1.0
    """)
    pytester.runpytest("--llmops-report=r.json", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    metric = load_report(pytester.path / "r.json")["tests"][0]["metrics"][0]
    assert metric["details"]["backend"] == "toy"
