"""Budgets and prices through real pytest runs: ``@pytest.mark.budget``, the run cost cap, unknown prices.

The inner runs call a LoopbackServer over real HTTP; the run record (validated against the shipped schema) and
the exit status are what is checked.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from conftest import by_nodeid
from inner_runs import configure, model_requests, run

from pytest_llmops.testing.loopback import LoopbackServer

litellm = pytest.importorskip("litellm")  # imported once here: in-process inner runs reuse it



@pytest.fixture(autouse=True)
def _fake_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-budget-0a1b2c3d4e")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def slow_on_request(body: dict[str, Any]) -> str:
    """Answers at once, except prompts that ask for a slow answer (held 0.6 s: far over a 0.3 s budget)."""
    question = body["messages"][-1]["content"]
    if "slowly" in question:
        time.sleep(0.6)
    return f"answer: {question}"


# -- per-test budgets ---------------------------------------------------------------------------------------

BUDGET_SUITE = """
import pytest

@pytest.mark.budget(usd=0.001)
def test_over_usd(llm):
    llm.complete("What is the capital of France?", temperature=0)

@pytest.mark.budget(tokens=12)
def test_over_tokens(llm):
    llm.complete("Summarise the plot of Hamlet in one sentence please.", temperature=0)

@pytest.mark.budget(p95_latency_s=0.3)
def test_over_latency(llm):
    llm.complete("Answer quickly: one plus one?", temperature=0)
    llm.complete("Answer slowly: two plus two?", temperature=0)

@pytest.mark.budget(usd=1.0, tokens=10_000, p95_latency_s=30)
def test_under(llm):
    llm.complete("Name a colour.", temperature=0)
    llm.complete("Name a fruit.", temperature=0)
"""


def cost_of(calls: list[dict[str, Any]], field: str) -> float:
    return sum(c[field] for c in calls)


def check_budget_outcomes(report: dict[str, Any], cost_field: str) -> None:
    tests = by_nodeid(report)
    for name in ("test_over_usd", "test_over_tokens", "test_over_latency"):
        test = tests[f"test_b.py::{name}"]
        assert test["outcome"] == "failed", test  # a blown budget fails (it is the app's fault), not error
        assert test["message"].startswith("budget exceeded") or "budget exceeded" in test["message"]
        assert test["budget"]["violations"], test
    usd = tests["test_b.py::test_over_usd"]
    assert f"cost ${cost_of(usd['calls'], cost_field):.6f} over 1 call(s) exceeds budget usd<=0.001" in usd["message"]
    assert usd["budget"]["limits"] == {"usd": 0.001}
    tokens = tests["test_b.py::test_over_tokens"]
    total = tokens["calls"][0]["total_tokens"]
    assert total > 12 and f"{total} tokens over 1 call(s) exceed budget tokens<=12" in tokens["message"]
    latency = tests["test_b.py::test_over_latency"]
    measured = float(re.search(r"p95 latency ([0-9.]+)s over 2 call\(s\)", latency["message"]).group(1))
    assert measured >= 0.5 and "exceeds budget p95_latency_s<=0.3" in latency["message"]
    under = tests["test_b.py::test_under"]
    assert under["outcome"] == "passed" and under["budget"]["violations"] == []
    assert cost_of(under["calls"], cost_field) > 0.001  # would have blown the usd budget of test_over_usd
    assert report["totals"]["outcomes"] == {"failed": 3, "passed": 1}


def test_budget_marker_live_then_replayed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_b=BUDGET_SUITE)
    with LoopbackServer(responder=slow_on_request) as server:
        configure(pytester, server.base_url)
        result, live = run(pytester, "--llmops-record-mode=once")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert len(model_requests(server)) == 6
    assert all(not c["cached"] for t in live["tests"] for c in t["calls"])
    check_budget_outcomes(live, "cost_usd")
    assert "budget exceeded" in result.stdout.str()

    # offline replay: the same verdicts from replayed cost and recorded latency
    result, replay = run(pytester, "--llmops-record-mode=none")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert all(c["cached"] and c["cost_usd"] == 0 for t in replay["tests"] for c in t["calls"])
    check_budget_outcomes(replay, "replayed_cost_usd")


def test_a_budget_applied_by_a_fixture_counts_too(pytester: pytest.Pytester) -> None:
    """Our markers are looked up once at collection; one a fixture adds later (``request.applymarker``) still counts."""
    pytester.makepyfile(test_b="""
import pytest

@pytest.fixture
def tight_budget(request):
    request.applymarker(pytest.mark.budget(tokens=12))

def test_over_tokens(tight_budget, llm):
    llm.complete("Summarise the plot of Hamlet in one sentence please.", temperature=0)
""")
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        result, live = run(pytester, "--llmops-record-mode=once")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    test = by_nodeid(live)["test_b.py::test_over_tokens"]
    assert test["outcome"] == "failed" and "exceed budget tokens<=12" in test["message"]


# -- the run-wide cost cap across xdist workers --------------------------------------------------------------

CAP_SUITE = """
import pytest

@pytest.mark.parametrize("i", range(10))
def test_call(llm, i):
    llm.complete(f"Question number {i}: what is the weather like today?", temperature=0)
"""


def test_run_cost_cap_holds_across_xdist_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cap=CAP_SUITE)
    cap = 0.1
    with LoopbackServer(latency_s=0.05) as server:
        configure(pytester, server.base_url)
        result, report = run(pytester, "-n", "2", "--llmops-record-mode=off", f"--llmops-max-cost-usd={cap}",
                             subprocess=True)
        requests = len(model_requests(server))
    assert result.ret != 0 and report["run"]["exit_status"] != 0
    tests = report["tests"]
    assert len(tests) == 10
    spent_calls = [c for t in tests for c in t["calls"] if c["error"] is None]
    assert requests == len(spent_calls)  # a refused call never reached the server
    spent = cost_of(spent_calls, "cost_usd")
    biggest = max(c["cost_usd"] for c in spent_calls)
    assert cap <= spent <= cap + 2 * biggest  # stops at the cap, plus at most the calls in flight (2 workers)
    refused = [t for t in tests if t["outcome"] == "error"]
    assert refused and len(refused) + len(spent_calls) == 10
    for test in refused:
        assert test["error_kind"] == "budget" and "BudgetExceeded" in test["message"]
        assert "cost cap $0.1000 spent" in test["message"]
        assert test["calls"][0]["error"]["type"] == "BudgetExceeded"
    assert all(t["outcome"] == "passed" for t in tests if t not in refused)
    totals = report["totals"]
    assert totals["cost_cap_hit"] is True and totals["cost_cap_usd"] == cap
    assert totals["cost_usd"] == pytest.approx(spent)


def test_run_cost_cap_not_hit_passes(pytester: pytest.Pytester) -> None:
    """Control: the same suite under a cap it does not reach passes with exit status 0."""
    pytester.makepyfile(test_cap=CAP_SUITE)
    with LoopbackServer() as server:
        configure(pytester, server.base_url)
        result, report = run(pytester, "--llmops-record-mode=off", "--llmops-max-cost-usd=100", "-k", "0 or 1")
    assert result.ret == 0, result.stdout.str()
    assert report["totals"]["cost_cap_hit"] is False and report["totals"]["cost_cap_usd"] == 100
    assert report["totals"]["outcomes"] == {"passed": 2}


# -- unknown prices -----------------------------------------------------------------------------------------

UNPRICED_SUITE = """
import pytest

def test_first(llm):
    llm.complete("Hello?", temperature=0)

def test_second(llm):
    llm.complete("Hello again?", temperature=0)

@pytest.mark.budget(usd=1.0)
def test_budget_cannot_be_checked(llm):
    llm.complete("And once more?", temperature=0)
"""


WARNING_COUNTER = """
def pytest_warning_recorded(warning_message, when, nodeid, location):
    if "no price known" in str(warning_message.message):
        with open("price_warnings.txt", "a", encoding="utf-8") as fh:
            fh.write(f"{nodeid} {warning_message.category.__name__}\\n")
"""


def test_unknown_price_is_null_not_zero_with_one_warning(pytester: pytest.Pytester) -> None:
    model = "openai/loopback-unpriced-7f3a"  # not in litellm's cost map, no custom price
    pytester.makepyfile(test_u=UNPRICED_SUITE)
    pytester.makeconftest(WARNING_COUNTER)
    with LoopbackServer() as server:
        # show every warning (the outer run turns warnings into errors), so a second one would be seen
        configure(pytester, server.base_url, model=model, prices=False,
                  extra=("filterwarnings =", "    always::UserWarning"))
        result, report = run(pytester, "--llmops-record-mode=once")
    calls = [c for t in report["tests"] for c in t["calls"]]
    assert len(calls) == 3 and all(c["cost_usd"] is None and c["error"] is None for c in calls)
    assert report["totals"]["unpriced_models"] == [model]
    warned = (pytester.path / "price_warnings.txt").read_text(encoding="utf-8").splitlines()
    assert warned == ["test_u.py::test_first LlmopsPriceWarning"]  # one warning for the model, not one per call
    assert f"no price known for model '{model}'" in result.stdout.str()
    tests = by_nodeid(report)
    assert tests["test_u.py::test_first"]["outcome"] == "passed"
    unchecked = tests["test_u.py::test_budget_cannot_be_checked"]
    assert unchecked["outcome"] == "failed" and "cannot be checked" in unchecked["message"]
    assert "llmops_prices" in unchecked["message"]

    # replayed: the recorded cost is unknown too, and stays unknown
    result, replay = run(pytester, "--llmops-record-mode=none")
    assert all(c["cached"] and c["replayed_cost_usd"] is None for t in replay["tests"] for c in t["calls"])
    assert replay["totals"]["unpriced_models"] == [model]
