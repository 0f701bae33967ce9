"""@pytest.mark.sampling through real pytest runs: one item, k-of-n verdicts, errors, concurrency, xdist."""

from __future__ import annotations

import pytest
from conftest import by_nodeid, load_report

SUITE = """
import asyncio, pytest
from pytest_llmops.record.recorder import current_sample_index
from pytest_llmops.errors import ProviderError

@pytest.mark.sampling(n=10, min_pass_rate=0.8)
def test_all_pass():
    pass

@pytest.mark.sampling(n=10, min_pass_rate=0.8)
def test_three_fail():
    assert current_sample_index() not in (0, 4, 7), f"bad tone in sample {current_sample_index()}"

@pytest.mark.sampling(n=10, min_pass_rate=0.8, early_stop=False)
def test_two_fail_full():
    assert current_sample_index() not in (2, 5), "too long"

@pytest.mark.sampling(n=5, min_pass_rate=0.8)
def test_outage():
    if current_sample_index() >= 1:
        raise ProviderError("provider returned 503 after 3 retries")

@pytest.mark.sampling(n=20, min_pass_rate=0.8, mode="confident", inconclusive="xfail")
def test_confident_inconclusive():
    assert current_sample_index() % 5 != 0

RUNNING = {"now": 0, "max": 0}

@pytest.mark.sampling(n=8, min_pass_rate=0.5, max_parallel=4)
async def test_async_concurrent(llmops):
    RUNNING["now"] += 1
    RUNNING["max"] = max(RUNNING["max"], RUNNING["now"])
    await asyncio.sleep(0.05)
    RUNNING["now"] -= 1
    llmops.metric("max_in_flight", RUNNING["max"])
"""


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_sampling_verdicts(pytester: pytest.Pytester, extra: list[str]) -> None:
    pytester.makepyfile(test_s=SUITE)
    result = pytester.runpytest_subprocess("--llmops-report=r.json", "-rA", *extra)
    tests = by_nodeid(load_report(pytester.path / "r.json"))
    assert len(tests) == 6  # one item per sampled test

    all_pass = tests["test_s.py::test_all_pass"]
    assert all_pass["outcome"] == "passed"
    assert all_pass["sampling"]["n_run"] == 8 and all_pass["sampling"]["stopped_early"] is True

    three = tests["test_s.py::test_three_fail"]
    assert three["outcome"] == "failed"
    assert three["sampling"]["failures"] == 3 and three["sampling"]["passes"] <= 7
    assert "bad tone in sample 0" in three["message"]

    full = tests["test_s.py::test_two_fail_full"]
    assert full["outcome"] == "passed" and full["sampling"]["n_run"] == 10 and full["sampling"]["passes"] == 8
    lo, hi = full["sampling"]["interval"]
    assert lo < 0.8 < hi

    outage = tests["test_s.py::test_outage"]
    assert outage["outcome"] == "error" and outage["error_kind"] == "sampling-errors"

    assert tests["test_s.py::test_confident_inconclusive"]["outcome"] == "xfailed"

    concurrent = tests["test_s.py::test_async_concurrent"]
    assert concurrent["outcome"] == "passed" and concurrent["sampling"]["concurrent"] is True
    # samples of a wave ran side by side (counted in the body, not timed)
    assert max(m["value"] for m in concurrent["metrics"] if m["name"] == "max_in_flight") == 4
    result.stdout.fnmatch_lines(["*sampling failed: *valid samples passed*", "*bad tone in sample 0*"])


def test_replayed_runs_produce_identical_sampling_records(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s=SUITE)
    for name in ("a.json", "b.json"):
        pytester.runpytest_subprocess(f"--llmops-report={name}", "-p", "no:xdist")
    strip = lambda t: {k: v for k, v in t["sampling"].items() if k != "samples"}  # noqa: E731
    a = by_nodeid(load_report(pytester.path / "a.json"))
    b = by_nodeid(load_report(pytester.path / "b.json"))
    assert {n: strip(t) for n, t in a.items()} == {n: strip(t) for n, t in b.items()}


def test_bad_sampling_arguments_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.sampling(n=0, min_pass_rate=0.8)
        def test_zero(): pass
        @pytest.mark.sampling(n=5, min_pass_rate=1.5)
        def test_rate(): pass
    """)
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*::test_zero: *n*", "*::test_rate: *min_pass_rate*"])


def test_confident_with_too_small_n_warns_with_smallest_n(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.sampling(n=10, min_pass_rate=0.8, mode="confident")
        def test_small(): pass
    """)
    result = pytester.runpytest("-W", "default")
    result.stdout.fnmatch_lines(["*can never pass: the smallest n that could pass is 20*"])


def test_run_level_overrides(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.sampling(n=10, min_pass_rate=0.8, early_stop=False)
        def test_x(): pass
    """)
    pytester.runpytest("--llmops-samples=3", "--llmops-report=r.json")
    entry = load_report(pytester.path / "r.json")["tests"][0]
    assert entry["sampling"]["n_planned"] == 3 and entry["sampling"]["n_run"] == 3
