"""Regression review: compare two run records (base vs head) and explain the difference to a PR reviewer.

* :mod:`.diff` — :func:`~.diff.diff_records` matches tests by node id and classifies every change
  (regressions, improvements, noise, errors, prompt changes, added/removed) into a :class:`~.diff.DiffResult`.
  It runs the comparisons of :mod:`.compare_tests` (outcomes, sampled rates, metric bounds, per-test growth),
  :mod:`.compare_goldens` (paired golden sets), :mod:`.compare_run` (totals, run growth, metric means,
  aggregates) and :mod:`.compare_prompts` over the :class:`~.views.TestView` objects of :mod:`.views`; the
  values they report are in :mod:`.findings`, thresholds in :mod:`.options`, number formats in :mod:`.format`.
* :mod:`.stats` — the one-sided tests behind "significant" (Fisher/Boschloo, McNemar, Wilcoxon, Holm, Wilson);
  :mod:`.family` — one family per diff (Tarone's screen, FDR / Holm), :mod:`.power` — MDE and effect intervals,
  :mod:`.growth` — cost/token/latency rises of live answers, :mod:`.comparable` — refuse meaningless diffs.
* :mod:`.calibrate` / :mod:`.calibrate_cli` — ``pytest-llmops calibrate``: n, min_pass_rate and thresholds
  from N ≥ 2 records of one suite.
* :mod:`.failon` — the ``--fail-on`` grammar (``regression``, ``metric:recall@5:0.02``, ``cost:10%``...).
* :mod:`.markdown` / :mod:`.html` — the PR comment (≤ 65,000 characters) and a self-contained HTML report.
* :mod:`.merge` — combine the shard records of one run.
* :mod:`.load` — fast, validated reading of records for review (2 × 20,000 tests in well under a second).
* :mod:`.synthetic` — build record dicts by hand (tests, ``bench/diff.py``).
* :mod:`.cli` — ``pytest-llmops diff | merge | html | show | calibrate``.

Nothing heavy is imported here.
"""

from __future__ import annotations
