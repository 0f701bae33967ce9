"""Tests of the statistics behind stochastic verdicts (pytest_llmops.sampling.stats)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmops.errors import ConfigError
from pytest_llmops.sampling.stats import (
    SamplingSpec,
    SequentialVerdict,
    anytime_bounds,
    log_mixture_minus,
    log_mixture_plus,
    required_passes,
    smallest_n_that_can_pass,
    validate_spec,
)

CODE = {"P": "pass", "F": "fail", "E": "error"}


def run(spec: SamplingSpec, outcomes, *, stop: bool = True) -> SequentialVerdict:
    """Feed outcomes until decided (stop=True) or all of them."""
    sv = SequentialVerdict(spec)
    for outcome in outcomes:
        if stop and sv.decided():
            break
        sv.add(CODE.get(outcome, outcome))
    return sv


def full_verdict(spec: SamplingSpec, outcomes) -> str:
    no_stop = SamplingSpec(**{**spec.__dict__, "early_stop": False})
    sv = run(no_stop, outcomes, stop=False)
    assert sv.decided()
    return sv.result().verdict


def k_of_n_reference(passes: int, failures: int, errors: int, required: int, min_valid: int = 1) -> str:
    """The documented k_of_n rule on a finished run, written independently of the module."""
    if passes + failures < min_valid:
        return "error"
    if passes >= required:
        return "passed"
    if passes + errors < required:
        return "failed"
    return "error"


def confident_reference(spec: SamplingSpec, outcomes) -> str:
    """The documented confident rule on a full run, straight from the mixture statistics (no tables)."""
    p0, log_k, m = spec.min_pass_rate, math.log(1 / (1 - spec.confidence)), spec.effective_min_valid

    def crosses_plus(s, f):
        return p0 == 0 or (0 < p0 < 1 and float(log_mixture_plus(s, f, p0)) >= log_k)

    def crosses_minus(s, f):
        return (p0 == 1 and f > 0) or (0 < p0 < 1 and float(log_mixture_minus(s, f, p0)) >= log_k)

    s = f = e = 0
    for outcome in outcomes:
        outcome = CODE.get(outcome, outcome)
        s, f, e = s + (outcome == "pass"), f + (outcome == "fail"), e + (outcome == "error")
        if s + f >= m and crosses_plus(s, f):
            return "passed"
        if s + f >= m and crosses_minus(s, f):
            return "failed"
    if s + f < m or crosses_plus(s + e, f) or crosses_minus(s, f + e):
        return "error"  # the errored samples are to blame
    return "inconclusive"


def reference_verdict(spec: SamplingSpec, outcomes) -> str:
    if spec.mode == "confident":
        return confident_reference(spec, outcomes)
    tally = {c: [CODE.get(o, o) for o in outcomes].count(CODE[c]) for c in "PFE"}
    return k_of_n_reference(tally["P"], tally["F"], tally["E"], spec.required_passes, spec.effective_min_valid)


# --------------------------------------------------------------------------------------------------------
# k_of_n verdict table
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "rate", "outcomes", "verdict", "n_run", "required"),
    [
        # 0.7 * 10 == 7.000000000000001 in binary floating point; the rule must say 7
        (10, 0.7, "PPPPPPPFFF", "passed", 7, 7),
        (10, 0.7, "PPPPPPFFFF", "failed", 10, 7),  # 4th failure decides (> 10 - 7)
        (10, 0.8, "PPPPPPPPFF", "passed", 8, 8),
        (10, 0.8, "FFFPPPPPPP", "failed", 3, 8),  # 3 failures > 10 - 8
        (10, 0.8, "PPPPPPPPEE", "passed", 8, 8),  # errors do not count against
        (10, 0.8, "PPPPPPPEEE", "error", 10, 8),  # 7 passes, the 3 errors made 8 unreachable
        (10, 0.8, "PPPPPPPFEE", "error", 10, 8),  # 1 failure alone would not fail it
        (10, 0.8, "PPPPPPEFFF", "failed", 10, 8),  # 3 failures fail it whatever the error was
        (10, 0.8, "EEEEEEEEFF", "error", 8, 8),  # 8 errors: 8 passes unreachable, 2 failures can't fail it
        (10, 0.8, "EEEEEEEEEE", "error", 8, 8),
        (10, 1.0, "PPPPPPPPPF", "failed", 10, 10),
        (10, 1.0, "PPPPPPPPPP", "passed", 10, 10),
        (10, 0.0, "FFFFFFFFFF", "passed", 1, 0),  # vacuous, but the body runs once
        (10, 0.0, "EEEEEEEEEE", "error", 10, 0),  # ... and needs one valid sample (min_valid default 1)
        (3, 0.5, "PFP", "passed", 3, 2),
        (3, 0.5, "FFP", "failed", 2, 2),
        (1, 0.5, "P", "passed", 1, 1),
        (1, 0.5, "E", "error", 1, 1),
        (5, 0.3, "FFFPP", "passed", 5, 2),  # 0.3 * 5 = 1.5 -> 2
        (5, 0.3, "FFFFP", "failed", 4, 2),
    ],
)
def test_k_of_n_verdict_table(n, rate, outcomes, verdict, n_run, required):
    spec = validate_spec(n=n, min_pass_rate=rate)
    sv = run(spec, outcomes)
    assert sv.decided()
    res = sv.result()
    assert (res.verdict, res.n_run, res.required_passes) == (verdict, n_run, required)
    assert res.rule == f"k_of_n: >= {required} of {n} pass"
    assert res.stopped_early == (n_run < n)
    assert full_verdict(spec, outcomes) == verdict
    valid = res.passes + res.failures
    assert res.rate == (res.passes / valid if valid else None)


@pytest.mark.parametrize(
    ("rate", "n", "required"),
    [
        (0.7, 10, 7),
        (0.8, 10, 8),
        (0.1, 30, 3),
        (0.3, 10, 3),
        (0.6, 5, 3),
        (0.9, 10, 9),
        (0.81, 10, 9),
        (0.29, 100, 29),
        (0.57, 100, 57),
        (1 / 3, 3, 1),
        (0.5, 3, 2),
        (0.95, 20, 19),
        (0.0, 7, 0),
        (1.0, 7, 7),
        # binary products that land just above an integer: 0.07 * 100 == 7.000000000000001
        (0.07, 100, 7),
        (0.14, 50, 7),
        (0.28, 25, 7),
        (0.55, 100, 55),
        (0.56, 25, 14),
    ],
)
def test_required_passes_has_no_float_error(rate, n, required):
    assert required_passes(rate, n) == required


def test_min_valid_demands_valid_samples():
    spec = validate_spec(n=10, min_pass_rate=0.3, min_valid=6)
    sv = run(spec, "PPPEEEEEFF")
    res = sv.result()
    assert res.verdict == "error"  # 3 passes reached `required` but only 5 valid samples
    assert full_verdict(spec, "PPPEEEEEFF") == "error"
    assert run(spec, "PPPPPPFFFF").result().verdict == "passed"
    assert run(spec, "PPPPPPFFFF").result().n_run == 6


def test_result_to_dict_is_plain_builtins():
    import json

    res = run(validate_spec(n=10, min_pass_rate=0.8, interval="clopper-pearson"), "PPPPPPPPPP").result()
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["verdict"] == "passed" and d["interval_method"] == "clopper-pearson"
    assert isinstance(d["interval"], list) and d["anytime_bounds"] is None


def test_interrupted_run_counts_missing_samples_as_errors():
    spec = validate_spec(n=10, min_pass_rate=0.8)
    sv = run(spec, "PPPP")
    assert not sv.decided() and sv.remaining() == 6
    res = sv.result()
    assert res.verdict == "error" and res.n_run == 4 and not res.stopped_early


# --------------------------------------------------------------------------------------------------------
# early stopping never changes the verdict
# --------------------------------------------------------------------------------------------------------


@st.composite
def spec_and_outcomes(draw):
    n = draw(st.integers(1, 40))
    mode = draw(st.sampled_from(["k_of_n", "confident"]))
    rate = draw(st.one_of(st.sampled_from([0.0, 0.1, 0.5, 0.7, 0.8, 0.9, 1.0]), st.floats(0.0, 1.0)))
    confidence = draw(st.sampled_from([0.5, 0.8, 0.9, 0.95]))
    min_valid = draw(st.one_of(st.none(), st.integers(0, n)))
    spec = SamplingSpec(n=n, min_pass_rate=rate, mode=mode, confidence=confidence, min_valid=min_valid)
    weights = draw(st.sampled_from(["PPPPF", "PFE", "PPPPPPE", "FFFP", "PPPPPPPPPF", "EEEP"]))
    outcomes = draw(st.lists(st.sampled_from(weights), min_size=n, max_size=n))
    return spec, "".join(outcomes)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_and_outcomes())
def test_early_stopping_never_changes_the_verdict(case):
    spec, outcomes = case
    early = run(spec, outcomes)
    assert early.decided()
    res = early.result()
    assert res.verdict == full_verdict(spec, outcomes)
    assert res.n_run <= spec.n and res.stopped_early == (res.n_run < spec.n)
    assert res.verdict == reference_verdict(spec, outcomes)


@pytest.mark.parametrize(
    "spec",
    [
        SamplingSpec(n=5, min_pass_rate=0.6),
        SamplingSpec(n=6, min_pass_rate=0.5, min_valid=3),
        SamplingSpec(n=6, min_pass_rate=0.2, mode="confident", confidence=0.7),
        SamplingSpec(n=6, min_pass_rate=0.75, mode="confident", confidence=0.6, min_valid=2),
        SamplingSpec(n=5, min_pass_rate=1.0, mode="confident", confidence=0.9),
        SamplingSpec(n=5, min_pass_rate=0.0, mode="confident"),
    ],
)
def test_decided_is_exact_curtailment_by_brute_force(spec):
    """For every prefix: decided() <=> all 3^(n-t) continuations give the same full-run verdict."""
    _check_curtailment_exhaustively(spec)


def test_decided_is_exact_curtailment_on_a_grid_of_tiny_specs():
    for n, rate, confidence, min_valid, mode in itertools.product(
        (2, 3, 4), (0.2, 0.5, 0.6, 0.8), (0.5, 0.7), (None, 2), ("k_of_n", "confident")
    ):
        spec = SamplingSpec(n=n, min_pass_rate=rate, mode=mode, confidence=confidence, min_valid=min_valid)
        _check_curtailment_exhaustively(spec)


def _check_curtailment_exhaustively(spec: SamplingSpec) -> None:
    n = spec.n
    verdict_of = {seq: reference_verdict(spec, seq) for seq in map("".join, itertools.product("PFE", repeat=n))}
    for t in range(1, n):
        for prefix in map("".join, itertools.product("PFE", repeat=t)):
            sv = run(SamplingSpec(**{**spec.__dict__, "early_stop": True}), prefix, stop=False)
            endings = {verdict_of[prefix + rest] for rest in map("".join, itertools.product("PFE", repeat=n - t))}
            if sv._verdict is None:  # never decided earlier on this path
                assert sv.decided() == (len(endings) == 1), (spec, prefix, endings)
            if sv.decided():
                assert endings == {sv.verdict()}, (spec, prefix)


def test_decided_honours_early_stop_false_and_waves():
    spec = validate_spec(n=10, min_pass_rate=0.8, early_stop=False)
    sv = SequentialVerdict(spec)
    assert sv.next_wave_size(4) == 4
    for outcome in "FFF":
        sv.add(CODE[outcome])
    assert not sv.decided() and sv.remaining() == 7  # already failed, but early_stop=False
    spec = validate_spec(n=10, min_pass_rate=0.8)
    sv = SequentialVerdict(spec)
    for wave in ("PPPP", "PPPP"):
        assert sv.next_wave_size(4) == 4
        for outcome in wave:
            sv.add(CODE[outcome])
    assert sv.decided() and sv.remaining() == 0 and sv.next_wave_size(4) == 0
    sv2 = run(spec, "PPPPPPP")
    assert sv2.next_wave_size(4) == 3
    with pytest.raises(ValueError):
        sv2.add("skipped")


def test_samples_after_the_decision_do_not_change_the_verdict():
    spec = validate_spec(n=10, min_pass_rate=0.8)
    sv = SequentialVerdict(spec)
    for outcome in "FFFPP":  # decided (failed) at the third sample, the wave had 5
        sv.add(CODE[outcome])
    res = sv.result()
    assert (res.verdict, res.decided_after, res.n_run, res.passes) == ("failed", 3, 5, 2)


# --------------------------------------------------------------------------------------------------------
# confident mode
# --------------------------------------------------------------------------------------------------------


def _log_m_plus_by_quadrature(s: int, f: int, p0: float) -> float:
    from scipy.integrate import quad

    def integrand(theta):
        return math.exp(s * math.log(theta / p0) + f * math.log((1 - theta) / (1 - p0)))

    mode = s / (s + f) if s + f else 0.0
    value, _ = quad(integrand, p0, 1.0, limit=200, points=[mode] if p0 < mode < 1 else None)
    return math.log(value / (1 - p0))


@pytest.mark.parametrize(("s", "f", "p0"), [(0, 0, 0.5), (5, 0, 0.8), (18, 2, 0.8), (3, 7, 0.2), (40, 10, 0.7)])
def test_mixture_closed_form_matches_quadrature(s, f, p0):
    assert float(log_mixture_plus(s, f, p0)) == pytest.approx(_log_m_plus_by_quadrature(s, f, p0), abs=1e-7)
    # mirror: M-(p; s, f) == M+(1 - p; f, s)
    assert float(log_mixture_minus(s, f, p0)) == pytest.approx(_log_m_plus_by_quadrature(f, s, 1 - p0), abs=1e-7)


def test_smallest_n_that_can_pass():
    conf = dict(min_pass_rate=0.8, mode="confident", confidence=0.95)
    n_min = smallest_n_that_can_pass(validate_spec(n=10, **conf))
    assert n_min is not None and n_min > 10  # 10 straight passes do not show p >= 0.8 at 95%
    assert run(validate_spec(n=10, **conf), "P" * 10).result().verdict == "inconclusive"
    spec = validate_spec(n=n_min, **conf)
    assert run(spec, "P" * n_min).result().verdict == "passed"
    assert run(validate_spec(n=n_min - 1, **conf), "P" * (n_min - 1)).result().verdict == "inconclusive"
    # cross-check with the closed form directly
    assert float(log_mixture_plus(n_min, 0, 0.8)) >= math.log(20) > float(log_mixture_plus(n_min - 1, 0, 0.8))
    assert smallest_n_that_can_pass(validate_spec(n=5, min_pass_rate=1.0, mode="confident")) is None
    assert smallest_n_that_can_pass(validate_spec(n=5, min_pass_rate=0.0, mode="confident")) == 1
    assert smallest_n_that_can_pass(validate_spec(n=10, min_pass_rate=0.7)) == 7
    stricter = smallest_n_that_can_pass(validate_spec(n=10, min_pass_rate=0.8, mode="confident", confidence=0.99))
    assert stricter > n_min


def test_confident_edge_cases():
    never = validate_spec(n=30, min_pass_rate=1.0, mode="confident")
    assert run(never, "P" * 30).result().verdict == "inconclusive"
    res = run(never, "PPPF" + "P" * 26).result()
    assert (res.verdict, res.n_run) == ("failed", 4)  # one failure disproves p >= 1
    trivial = validate_spec(n=30, min_pass_rate=0.0, mode="confident")
    res = run(trivial, "F" * 30).result()
    assert (res.verdict, res.n_run) == ("passed", 1)
    all_errors = validate_spec(n=20, min_pass_rate=0.5, mode="confident")
    res = run(all_errors, "E" * 20).result()
    assert res.verdict == "error" and res.rate is None and res.interval is None
    assert res.anytime_bounds == (pytest.approx(0.0), pytest.approx(1.0))


def test_confident_error_versus_inconclusive():
    spec = validate_spec(n=30, min_pass_rate=0.5, mode="confident", confidence=0.9)
    # 13 passes + 5 errors + 12 failures: the 5 errors as passes would not decide it -> inconclusive
    assert run(spec, "PF" * 12 + "P" + "EEEEE").result().verdict == "inconclusive"
    # all passes, but errors ate the slots: the errored samples as passes would have passed it
    res = run(spec, "P" * 4 + "E" * 26).result()
    assert res.verdict == "error", res.reason
    # errors ate the slots: as passes they would not have passed it, as failures they would have failed it
    assert run(spec, "PFFF" * 4 + "E" * 14).result().verdict == "error"
    assert run(spec, "PFFF" * 4 + "P" * 14).result().verdict == "inconclusive"
    assert run(spec, "PFFF" * 4 + "F" * 14).result().verdict == "failed"


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 80),
    st.integers(0, 80),
    st.sampled_from([0.05, 0.3, 0.5, 0.8, 0.95]),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_anytime_bounds_agree_with_the_decision(s, f, p0, confidence):
    """lo >= p0 exactly when M+ crosses, hi <= p0 exactly when M- crosses (checked away from exact ties)."""
    log_k = math.log(1 / (1 - confidence))
    lo, hi = anytime_bounds(s, f, confidence)
    assert 0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0
    plus, minus = float(log_mixture_plus(s, f, p0)), float(log_mixture_minus(s, f, p0))
    if abs(plus - log_k) > 1e-9:
        assert (lo >= p0) == (plus >= log_k)
    if abs(minus - log_k) > 1e-9:
        assert (hi <= p0) == (minus >= log_k)
    if s + f > 0:
        assert lo <= s / (s + f) <= hi


def test_result_bounds_consistent_with_verdict():
    import numpy as np

    rng = np.random.default_rng(7)
    spec = validate_spec(n=60, min_pass_rate=0.7, mode="confident", confidence=0.9)
    seen = set()
    for true_rate in (0.4, 0.7, 0.95):
        for _ in range(30):
            draws = rng.random(60) < true_rate
            res = run(spec, ["pass" if x else "fail" for x in draws]).result()
            lo, hi = res.anytime_bounds
            seen.add(res.verdict)
            assert (lo >= 0.7) == (res.verdict == "passed")
            assert (hi <= 0.7) == (res.verdict == "failed")
    assert {"passed", "failed", "inconclusive"} <= seen


def _simulate_confident_false_pass(n: int, runs: int, seed: int) -> float:
    """At true rate == threshold, how often does `confident` pass (checking after every sample)?"""
    import numpy as np

    rng = np.random.default_rng(seed)
    spec = SamplingSpec(n=n, min_pass_rate=0.8, mode="confident", confidence=0.95)
    passed = 0
    for row in rng.random((runs, n)) < 0.8:
        sv = SequentialVerdict(spec)
        for x in row:
            sv.add("pass" if x else "fail")
            if sv.decided():
                break
        passed += sv.verdict() == "passed"
    return passed / runs


def _simulate_naive_repeated_clopper_pearson(n: int, runs: int, seed: int, alpha: float = 0.05) -> float:
    """Re-check a fixed-n one-sided Clopper-Pearson lower bound after every sample: pass once lower >= 0.8."""
    import numpy as np
    from scipy.stats import beta

    rng = np.random.default_rng(seed)
    draws = rng.random((runs, n)) < 0.8
    passes = np.cumsum(draws, axis=1)
    t = np.arange(1, n + 1)
    with np.errstate(invalid="ignore"):
        lower = np.where(passes > 0, beta.ppf(alpha, passes, t - passes + 1), 0.0)
    return float(np.mean((lower >= 0.8).any(axis=1)))


@pytest.mark.parametrize("n", [50, 200])
def test_confident_false_pass_rate_at_threshold_is_at_most_alpha(n):
    from scipy.stats import binomtest

    runs, alpha = 2000, 0.05
    rate = _simulate_confident_false_pass(n, runs, seed=n)
    naive = _simulate_naive_repeated_clopper_pearson(n, runs, seed=n)
    print(f"n={n}: confident false-pass {rate:.4f}, naive repeated Clopper-Pearson {naive:.4f} (alpha {alpha})")
    # Monte-Carlo slack: fail only if the data show the rate is above alpha (one-sided binomial test)
    assert binomtest(round(rate * runs), runs, alpha, alternative="greater").pvalue > 0.001
    # ... while peeking at a fixed-n bound after every sample is significantly above alpha
    assert binomtest(round(naive * runs), runs, alpha, alternative="greater").pvalue < 1e-6
    # the same bound looked at once, at n, is fine (it is the peeking that breaks it)
    assert naive > rate


def test_single_look_clopper_pearson_is_fine():
    """Contrast for the test above: one look at n keeps the false-pass rate <= alpha."""
    import numpy as np
    from scipy.stats import beta

    rng = np.random.default_rng(1)
    n, runs = 200, 4000
    passes = (rng.random((runs, n)) < 0.8).sum(axis=1)
    lower = beta.ppf(0.05, passes, n - passes + 1)
    assert np.mean(lower >= 0.8) <= 0.05


# --------------------------------------------------------------------------------------------------------
# intervals
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval,method", [("wilson", "wilson"), ("clopper-pearson", "exact")])
@pytest.mark.parametrize("outcomes", ["PPPPPPPPF" + "F", "PPPPPPPPPP", "PPPPEEPFFF"])
def test_interval_matches_scipy(interval, method, outcomes):
    from scipy.stats import binomtest

    spec = validate_spec(n=10, min_pass_rate=0.8, interval=interval, confidence=0.9, early_stop=False)
    res = run(spec, outcomes, stop=False).result()
    s, f = outcomes.count("P"), outcomes.count("F")
    ci = binomtest(s, s + f).proportion_ci(confidence_level=0.9, method=method)
    assert res.interval == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))
    assert res.rate == pytest.approx(s / (s + f))
    assert res.interval_method == interval and res.confidence == 0.9


# --------------------------------------------------------------------------------------------------------
# validate_spec
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(n=0, min_pass_rate=0.8), "'n'"),
        (dict(n=2.5, min_pass_rate=0.8), "'n'"),
        (dict(n=True, min_pass_rate=0.8), "'n'"),
        (dict(n=10, min_pass_rate=1.2), "'min_pass_rate'"),
        (dict(n=10, min_pass_rate=-0.1), "'min_pass_rate'"),
        (dict(n=10, min_pass_rate=float("nan")), "'min_pass_rate'"),
        (dict(n=10, min_pass_rate="0.8"), "'min_pass_rate'"),
        (dict(n=10, min_pass_rate=0.8, confidence=1.0), "'confidence'"),
        (dict(n=10, min_pass_rate=0.8, confidence=0), "'confidence'"),
        (dict(n=10, min_pass_rate=0.8, mode="bayes"), "'mode'"),
        (dict(n=10, min_pass_rate=0.8, interval="agresti"), "'interval'"),
        (dict(n=10, min_pass_rate=0.8, early_stop="yes"), "'early_stop'"),
        (dict(n=10, min_pass_rate=0.8, min_valid=11), "'min_valid'"),
        (dict(n=10), "'min_pass_rate'"),
        (dict(min_pass_rate=0.5), "'n'"),
    ],
)
def test_validate_spec_errors(kwargs, fragment):
    with pytest.raises(ConfigError) as info:
        validate_spec(**kwargs)
    assert fragment in str(info.value)


def test_validate_spec_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as info:
        validate_spec(n=10, min_rate=0.8)
    message = str(info.value)
    assert "'min_rate'" in message and "did you mean 'min_pass_rate'" in message
    for key in ("n", "min_pass_rate", "mode", "confidence", "early_stop", "interval", "min_valid"):
        assert key in message


def test_validate_spec_defaults():
    spec = validate_spec(n=10, min_pass_rate=0.8)
    assert spec == SamplingSpec(10, 0.8, "k_of_n", 0.95, True, "wilson", None)
    assert spec.effective_min_valid == 1


def test_import_is_cheap():
    code = (
        "import sys, pytest_llmops.sampling.stats as m; "
        "bad = [x for x in ('numpy', 'scipy', 'pytest') if x in sys.modules]; print(bad); assert not bad"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
