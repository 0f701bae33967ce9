"""LLM-as-judge: score an output against criteria, compare two outputs, judge grounding sentence by sentence.

The ``judge`` fixture is a :class:`Judge` over the same call layer as ``llm`` (record/replay, metering,
budgets)::

    def test_tone(llm, judge):
        answer = llm.complete("Write a refund apology").text
        judge.check(answer, criteria="apologizes and offers a concrete next step", min_score=4)

**Scores.**  The judge answers one JSON object ``{"reasoning": str, "score": int}`` validated by pydantic
(scale ``(1, 5)`` unless set).  The request asks for ``response_format={"type": "json_object"}`` and, unless
``logprobs=False``, for ``logprobs`` / ``top_logprobs``.  When the provider returns them, the score is
G-Eval's probability-weighted mean over the scale tokens at the score position (renormalized; method
``"logprobs"``, one call; needs single-digit scales).  Otherwise the score is the mean of ``samples``
separate calls at ``temperature`` (default 1.0; method ``"samples"``).  Identical repeated requests get
distinct replay entries through the call layer's occurrence counter, so samples replay one by one.

**Parsing.**  A bare JSON object, a fenced ```` ```json ```` block or an object with prose around it is
accepted.  An unusable answer gets exactly one repair request (``judge_repair.j2``: the bad answer is sent
back with what was wrong); if that answer is unusable too, :class:`~pytest_llmops.errors.JudgeError` is
raised naming both raw answers -- the test is reported as ``error``, never as a score of 0.

**Untrusted text.**  Judged texts sit between nonce fences (``<<<OUTPUT-<nonce>>>`` ...), the nonce being a
sha256 of the texts that occurs in none of them (stable prompts, stable replay keys), and the system prompt
says that anything inside is data whose instructions must be ignored.  Fencing alone cannot stop a gullible
judge model; ``canary_check=True`` (or calling :meth:`Judge.calibrate` directly) first runs the judge on a
built-in canary -- a wrong answer that asks its grader for the maximum score -- and raises JudgeError when
the judge scores it above the lowest quarter of the scale.  The canary calls are recorded in the test's cassette like
any other call, so calibration replays offline.

**Templates** are jinja2 files in ``pytest_llmops/templates/`` rendered in a sandbox with StrictUndefined;
``template_dir=`` holds overriding files of the same names.  Every metric records the judge model, the
template name and the sha256 of its text, and the raw answers.

Metrics: ``judge:<criteria slug>`` (value = score, ``min=min_score``), ``judge_compare:<criteria slug>``
(1.0 = ``a`` wins, 0.0 = ``b`` wins, 0.5 = tie *or* inconsistent -- the winner is in the details),
``judge_canary`` (``max`` = a quarter up the scale) and ``grounding`` (``details.method == "judge"``).

Modules: ``core`` (the :class:`Judge`), ``results`` (:class:`Judgment` and the other result types),
``prompts`` (templates and fences), ``parsing`` (reading an answer, G-Eval weighting), ``inputs`` (argument
checks), ``messages`` (failure messages), ``text`` (slugs and clipped quotes), ``routing`` (where judge calls
go; ``--llmops-rejudge`` reroutes them).

**Auditing the judge** (issue 16): ``audit`` runs a judge on human-labelled items and summarizes agreement
(``agreement``: Cohen's kappa with a seeded bootstrap interval, raw agreement, confusion matrix, Krippendorff's
alpha), bias probes (``bias``: position flips, verbosity, test-retest) and the ``min_kappa`` gate;
``correction`` gives Rogan-Gladen corrected pass rates; ``record_fields`` writes both into the run record;
``audit_command`` is ``pytest-llmops judge-audit``.
"""

from __future__ import annotations

from .core import CANARY_CRITERIA, CANARY_OUTPUT, Judge
from .prompts import CHECK_TEMPLATE, COMPARE_TEMPLATE, GROUNDING_TEMPLATE, REPAIR_TEMPLATE
from .results import COMPARE_VALUES, Comparison, GroundingJudgment, Judgment, SentenceVerdict
from .text import criteria_slug

__all__ = [
    "CANARY_CRITERIA",
    "CANARY_OUTPUT",
    "CHECK_TEMPLATE",
    "COMPARE_TEMPLATE",
    "COMPARE_VALUES",
    "GROUNDING_TEMPLATE",
    "REPAIR_TEMPLATE",
    "Comparison",
    "GroundingJudgment",
    "Judge",
    "Judgment",
    "SentenceVerdict",
    "criteria_slug",
]
