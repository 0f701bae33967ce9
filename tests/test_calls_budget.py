"""Pricing (custom, litellm map, unknown) and per-test budget checks."""

from __future__ import annotations

import warnings

import pytest

from pytest_llmops.calls import pricing
from pytest_llmops.calls.budget import check_budget, p95, summarize_calls, validate_budget_kwargs
from pytest_llmops.errors import ConfigError


@pytest.fixture(autouse=True)
def _fresh_price_warnings():
    pricing._reset_warnings_for_tests()
    yield
    pricing._reset_warnings_for_tests()


def test_custom_price_wins_and_matches_without_provider_prefix():
    prices = {"gpt-4o-mini": (1.0, 2.0)}
    assert pricing.call_cost("openai/gpt-4o-mini", 1_000_000, 500_000, prices) == pytest.approx(2.0)
    assert pricing.call_cost("gpt-4o-mini", 10, 0, prices, use_litellm=False) == pytest.approx(10 / 1_000_000)


def test_litellm_cost_map_price_is_used():
    pytest.importorskip("litellm")
    cost = pricing.call_cost("openai/gpt-4o-mini", 1000, 1000, {})
    assert cost is not None and cost > 0


def test_unknown_price_is_none_with_one_warning_per_model():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert pricing.call_cost("nobody/never-heard-of-it", 10, 10, {}, use_litellm=False) is None
        assert pricing.call_cost("nobody/never-heard-of-it", 10, 10, {}, use_litellm=False) is None
        assert pricing.call_cost("nobody/other-model", 10, 10, {}, use_litellm=False) is None
    price_warnings = [w for w in caught if issubclass(w.category, pricing.LlmopsPriceWarning)]
    assert len(price_warnings) == 2
    assert "nobody/never-heard-of-it" in str(price_warnings[0].message)


def test_unknown_model_in_litellm_map_is_none():
    pytest.importorskip("litellm")
    with pytest.warns(pricing.LlmopsPriceWarning):
        assert pricing.call_cost("openai/loopback-unpriced-model-xyz", 10, 10, {}) is None


def test_validate_prices():
    assert pricing.validate_prices({"m": [0.1, "0.2"]}) == {"m": (0.1, 0.2)}
    for bad in ({"m": (1,)}, {"m": (-1, 0)}, {"m": ("x", 1)}, {"m": 3}):
        with pytest.raises(ConfigError, match="'m'"):
            pricing.validate_prices(bad)


def _call(cost=0.01, *, cached=False, latency=0.5, tokens=100, error=None, model="m"):
    return {
        "model": model,
        "cached": cached,
        "cost_usd": 0.0 if cached else cost,
        "replayed_cost_usd": cost if cached else None,
        "latency_s": 0.0001 if cached else latency,
        "recorded_latency_s": latency if cached else None,
        "total_tokens": tokens,
        "error": error,
    }


def test_replayed_runs_enforce_the_same_budget_as_live_runs():
    live = [_call(0.01, latency=1.0), _call(0.02, latency=3.0)]
    replayed = [_call(0.01, cached=True, latency=1.0), _call(0.02, cached=True, latency=3.0)]
    for calls in (live, replayed):
        violations = check_budget(calls, usd=0.025, tokens=150, p95_latency_s=2.0)
        assert len(violations) == 3, violations
        assert any("$0.030000" in v and "usd<=0.025" in v for v in violations)
        assert any("200 tokens" in v for v in violations)
        assert any("p95 latency" in v and "p95_latency_s<=2" in v for v in violations)
        assert check_budget(calls, usd=0.05, tokens=200, p95_latency_s=3.0) == []


def test_unpriced_calls_make_usd_budget_uncheckable():
    violations = check_budget([_call(None, model="x/unknown")], usd=1.0)
    assert violations and "x/unknown" in violations[0]
    assert check_budget([_call(None, model="x/unknown")], tokens=1000) == []


def test_p95_method():
    assert p95([]) is None
    assert p95([2.0]) == 2.0
    values = list(range(1, 101))
    assert p95(values) == pytest.approx(95.05)  # linear interpolation, numpy's default
    numpy = pytest.importorskip("numpy")
    assert p95(values) == pytest.approx(float(numpy.percentile(values, 95)))


def test_summary_ignores_failed_calls_latency():
    calls = [_call(0.01, latency=1.0), _call(None, latency=99.0, error={"kind": "server", "message": "x"})]
    summary = summarize_calls(calls)
    assert summary["p95_latency_s"] == 1.0 and summary["usd"] == pytest.approx(0.01)


def test_validate_budget_kwargs():
    assert validate_budget_kwargs({"usd": 1, "tokens": 10.0, "p95_latency_s": 0.5}) == {"usd": 1.0, "tokens": 10, "p95_latency_s": 0.5}
    with pytest.raises(ConfigError, match="unknown budget key.*dollars"):
        validate_budget_kwargs({"dollars": 1})
    with pytest.raises(ConfigError, match="usd="):
        validate_budget_kwargs({"usd": -1})
    with pytest.raises(ConfigError, match="tokens="):
        validate_budget_kwargs({"tokens": 1.5})
    with pytest.raises(ConfigError, match="p95_latency_s="):
        validate_budget_kwargs({"p95_latency_s": "fast"})
    with pytest.raises(ConfigError, match="usd="):
        validate_budget_kwargs({"usd": True})
