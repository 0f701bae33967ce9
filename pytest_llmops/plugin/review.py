"""End-of-session comparison: what the plugin does with ``--llmops-baseline=base.json``.

:func:`compare_at_session_end` diffs the base record with the record of the run that just finished, adds a
short verdict and the top regressions to the ``llmops`` terminal section (``state.final_lines``), appends
the markdown to ``$GITHUB_STEP_SUMMARY`` when that is set, and says whether ``--llmops-fail-on`` wants the
session to fail.  Default rule with a baseline: ``regression`` (comparing with a baseline is asking to be
gated); ``--llmops-fail-on=none`` only reports.  With ``--llmops-history=DIR`` the nightly records there are the
diff's noise model (:mod:`pytest_llmops.review.history_review`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ReportError

TOP = 10


def _append_step_summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise ReportError(f"GITHUB_STEP_SUMMARY={path}: cannot append the summary ({exc})") from None


def compare_at_session_end(state: Any, record: dict[str, Any]) -> bool:
    """Returns True when the fail-on rules say the session must fail."""
    from ..review.load import as_review_record

    head = as_review_record(record, "this run")
    baseline = state.baseline_path
    if baseline is None:  # only GITHUB_STEP_SUMMARY is set: summarize this run alone
        from ..review.markdown import render_run_markdown

        _append_step_summary(render_run_markdown(head))
        return False

    from ..review.diff import DiffOptions, diff_records, top_regressions
    from ..review.failon import failing_reasons, options_for_rules, parse_fail_on
    from ..review.judge_section import judge_text, judge_warnings
    from ..review.load import load_review_record

    rules = parse_fail_on(state.option("fail_on"), default="regression")
    base = load_review_record(Path(baseline))
    options = DiffOptions(correction=state.option("correction") or "fdr")
    history = getattr(state, "history_path", None)
    if history is not None:
        from ..review.history_review import load_history

        options = replace(options, history=load_history([history]), history_sources=(str(history),))
    options = options_for_rules(rules, options)
    result = diff_records(base, head, options, base_label=Path(baseline).name, head_label="this run")
    lines = state.final_lines
    lines.append(f"llmops baseline {Path(baseline).name}: {result.headline()}")
    lines.extend(f"  {line}" for line in top_regressions(result, TOP))
    if result.unconfirmed:
        lines.append(f"  {len(result.unconfirmed)} unconfirmed flip(s) (one live sample each; not regressions): "
                     + ", ".join(f.subject for f in result.unconfirmed[:3])
                     + (" ..." if len(result.unconfirmed) > 3 else ""))
    if result.feedback:
        lines.append(f"  {result.feedback.summary()}")
    if result.errors:
        lines.append(f"  {len(result.errors)} test(s) errored (infrastructure; not counted as regressions)")
    lines.append(f"  {result.family_text()}")
    if result.history is not None:
        lines.append(f"  {result.history_text()}")
    lines.extend(f"  judge: {line}" for line in [*judge_text(result.judge), *judge_warnings(result.judge)])
    reasons = failing_reasons(rules, result)
    lines.extend(f"  session fails: {reason}" for reason in reasons)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        from ..review.markdown import render_markdown

        _append_step_summary(render_markdown(result))
    return bool(reasons)
