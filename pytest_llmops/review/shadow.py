"""The paired verdict of a shadow test: is the candidate better than production, worse, or indistinguishable?

Over the items of one test function (one per imported case), each ``shadow_preference`` value is a paired
comparison: > 0.5 a win for the candidate, < 0.5 a loss, 0.5 a tie (or an inconsistent judge).  Ties carry
no information about the direction and are left out of the test (as zero differences in a sign test):

* p-value: exact two-sided sign test (binomial, p = 0.5) on wins vs losses;
* effect: the candidate's win share among decisive cases, with its Wilson interval;
* verdict: ``better`` / ``worse`` when p < alpha in that direction, else ``indistinguishable``;
* ``shadow_similarity``: mean and minimum over the cases;
* cases whose production answer got negative feedback and whose test passed now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .feedback import negative_feedback, passed
from .stats import mean, wilson_interval

PREFERENCE, SIMILARITY = "shadow_preference", "shadow_similarity"


@dataclass
class ShadowVerdict:
    scope: str  # file::[Class::]function
    cases: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    pvalue: float = 1.0
    win_share: float | None = None
    interval: tuple[float, float] | None = None
    verdict: str = "indistinguishable"
    similarity_mean: float | None = None
    similarity_min: float | None = None
    negative_now_passing: list[str] = field(default_factory=list)
    negative_still_failing: list[str] = field(default_factory=list)


def _metric(test: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((m for m in test.get("metrics") or [] if m.get("name") == name), None)


def _scope(test: dict[str, Any]) -> str:
    return f"{test['file']}::{test['cls'] + '::' if test.get('cls') else ''}{test['function']}"


def sign_test_pvalue(wins: int, losses: int) -> float:
    if wins + losses == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(wins, wins + losses, 0.5, alternative="two-sided").pvalue)


def _add(verdict: ShadowVerdict, test: dict[str, Any], similarities: list[float]) -> None:
    preference, similarity = _metric(test, PREFERENCE), _metric(test, SIMILARITY)
    verdict.cases += 1
    if preference is not None:
        value = float(preference["value"])
        verdict.wins += value > 0.5
        verdict.losses += value < 0.5
        verdict.ties += value == 0.5
    if similarity is not None:
        similarities.append(float(similarity["value"]))
    if negative_feedback(test):
        (verdict.negative_now_passing if passed(test) else verdict.negative_still_failing).append(test["nodeid"])


def shadow_verdicts(tests: list[dict[str, Any]], alpha: float = 0.05) -> list[ShadowVerdict]:
    """One verdict per test function that recorded shadow metrics, sorted by scope."""
    groups: dict[str, tuple[ShadowVerdict, list[float]]] = {}
    for test in tests:
        if _metric(test, PREFERENCE) is None and _metric(test, SIMILARITY) is None:
            continue
        scope = _scope(test)
        verdict, similarities = groups.setdefault(scope, (ShadowVerdict(scope), []))
        _add(verdict, test, similarities)
    out = []
    for scope in sorted(groups):
        verdict, similarities = groups[scope]
        decisive = verdict.wins + verdict.losses
        verdict.pvalue = sign_test_pvalue(verdict.wins, verdict.losses)
        verdict.win_share = verdict.wins / decisive if decisive else None
        verdict.interval = wilson_interval(verdict.wins, decisive)
        if verdict.pvalue < alpha:
            verdict.verdict = "better" if verdict.wins > verdict.losses else "worse"
        verdict.similarity_mean = mean(similarities)
        verdict.similarity_min = min(similarities) if similarities else None
        out.append(verdict)
    return out


def describe(verdict: ShadowVerdict) -> list[str]:
    """The verdict in lines for the terminal or a PR comment."""
    than = "from" if verdict.verdict == "indistinguishable" else "than"
    lines = [f"{verdict.scope}: candidate is {verdict.verdict.upper()} {than} production over {verdict.cases} case(s)"]
    if verdict.win_share is not None and verdict.interval is not None:
        low, high = verdict.interval
        lines.append(f"  wins {verdict.wins}, losses {verdict.losses}, ties {verdict.ties}; win share "
                     f"{verdict.win_share:.0%} [95% CI {low:.0%}-{high:.0%}], sign test p = {verdict.pvalue:.3g}")
    elif verdict.wins + verdict.losses + verdict.ties:
        lines.append(f"  all {verdict.ties} comparison(s) tied: no direction")
    if verdict.similarity_mean is not None:
        lines.append(f"  similarity to production: mean {verdict.similarity_mean:.3f}, "
                     f"min {verdict.similarity_min:.3f}")
    if verdict.negative_now_passing:
        lines.append(f"  cases from negative feedback that now pass ({len(verdict.negative_now_passing)}):")
        lines += [f"    {nodeid}" for nodeid in verdict.negative_now_passing]
    if verdict.negative_still_failing:
        lines.append(f"  cases from negative feedback still failing: {len(verdict.negative_still_failing)}")
    return lines
