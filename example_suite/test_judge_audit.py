"""Audit of the suite's own judge against human labels (issue 16).

``labels/answers.jsonl`` holds 63 of the assistant's answers (read from this suite's recordings, plus answers of the
same app to more golden questions) labelled by hand for the two criteria the suite's judge uses in
``test_judge.py``: "answers only from the provided articles" (a 1-5 score, with the articles shown to the
model as context) and "more helpful and more accurate" (a preference between two answers to one question).
See ``labels/README.md`` for how they were labelled.

The judge is the one ``test_judge.py`` uses: SmolLM2-135M on the local endpoint, JSON-schema constrained,
temperature 0.  Its calls are recorded in ``recordings/test_judge_audit/`` and replay offline.  A 135M model
is not a trustworthy judge and the audit says so: the gate (lower bound of kappa's 95% interval >= 0.4)
fails, and the tests are marked ``xfail(strict=True)`` with the measured figures -- if a better judge ever
passes, the strict xfail turns the run red so the marker gets removed.

Recorded: the preference audit on the 10 pairs tagged ``ci`` (20 judge calls; on the shared two-core machine
each took one to two minutes) and the grounding audit on all 41 items (46 judge calls with 5 repair requests,
13 minutes).  The longest grounding prompt is 2142 tokens, more than llama.cpp's default 2048-token context, so
``conftest.py`` starts the local server with ``n_ctx=4096``; the grounding judge answers in at most
``GROUNDING_MAX_TOKENS`` (uncapped, SmolLM2 once wrote 3011 tokens of non-JSON whose repair request overflowed
the context).  Re-record with ``pytest example_suite/test_judge_audit.py -k grounding --llmops-record-mode=all
--llmops-timeout=600``.
"""

import os
from pathlib import Path

import pytest
from test_judge import COMPARE_SCHEMA, SCORE_SCHEMA, make_judge

pytestmark = pytest.mark.llm(
    model=os.environ.get("SUPPORT_BOT_MODEL", "openai/smollm2-135m"),
    api_base=os.environ.get("SUPPORT_BOT_API_BASE", "http://127.0.0.1:8765/v1"),
    api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"),
)

GROUNDED = "answers only from the provided articles"
PREFERRED = "more helpful and more accurate"
RECORDINGS = Path(__file__).resolve().parent / "recordings" / "test_judge_audit"
GROUNDING_MAX_TOKENS = 256


@pytest.fixture
def judge(llm, request):
    """The suite's judge, with the JSON schema of the audited criterion (scores or comparisons)."""
    criteria = request.node.get_closest_marker("judge_audit").kwargs["criteria"]
    mode = request.config.getoption("llmops_record_mode") or request.config.getini("llmops_record_mode") or "none"
    if mode == "none" and not (RECORDINGS / f"{request.node.name}.json").is_file():
        pytest.skip(f"the audit of {criteria!r} is not recorded yet; record it against the local model with "
                    "`pytest example_suite/test_judge_audit.py --llmops-record-mode=once`")
    if criteria == PREFERRED:
        return make_judge(llm, COMPARE_SCHEMA)
    # a cap on the judge's answer: uncapped, SmolLM2 once wrote 3011 tokens of non-JSON, and the repair request
    # carrying them no longer fit the server's context
    return make_judge(llm.with_options(max_tokens=GROUNDING_MAX_TOKENS), SCORE_SCHEMA)


@pytest.mark.xfail(strict=True, reason="SmolLM2-135M as judge (recorded): kappa 0.00, 95% CI [-0.04, 0.04], raw "
                   "agreement 0.06 on 36 of 41 items -- it never scored below 3, people gave 25 of these answers a 1")
@pytest.mark.judge_audit("labels/answers.jsonl", criteria=GROUNDED, min_kappa=0.4)
def test_grounding_judge_agrees_with_people(judge):
    """The audit runs after this (empty) body: the marker does the work."""


@pytest.mark.xfail(strict=True, reason="SmolLM2-135M as judge (recorded): kappa 0.00, 95% CI [0.00, 0.00], raw "
                   "agreement 0.20, position-flip rate 1.00 -- it always picks the response shown first")
@pytest.mark.judge_audit("labels/answers.jsonl", criteria=PREFERRED, tags="ci", min_kappa=0.4)
def test_compare_judge_agrees_with_people(judge):
    """The audit runs after this (empty) body: the marker does the work."""
