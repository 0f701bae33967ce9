"""A run record as Prometheus / OpenMetrics text (``pytest-llmops export --format openmetrics|prometheus``).

Written with ``prometheus_client`` (extra ``openmetrics``): ``--format openmetrics`` is the OpenMetrics 1.0
text format (ends with ``# EOF``; for a Pushgateway or anything that scrapes OpenMetrics);
``--format prometheus`` is the classic text format 0.0.4 that node-exporter's textfile collector reads.

Metric and label names are stable (documented in ``docs/exports.md``); every sample also carries the
``--label KEY=VALUE`` labels given on the command line (e.g. ``suite="support-bot"``).  All are gauges.

========================================  =====================================  ==============================
metric                                    labels                                 value
========================================  =====================================  ==============================
``llmops_run_info``                       commit, branch, plugin_version,        1
                                          record_mode
``llmops_run_start_timestamp_seconds``                                           run start, Unix time
``llmops_run_duration_seconds``                                                  wall time of the run
``llmops_tests``                          outcome                                tests with that outcome
``llmops_pass_rate``                                                             passed / (passed + failed)
``llmops_pass_rate_interval_low|high``                                           95% Wilson interval
``llmops_cost_usd``                                                              money spent on live calls
``llmops_replayed_cost_usd``                                                     price of replayed calls
``llmops_calls``                          source (live, replayed)                model calls
``llmops_tokens``                         kind (prompt, completion, total)       tokens
``llmops_latency_p50_seconds|p95``        model                                  call latency
``llmops_golden_cases``                   golden_set                             cases in the run
``llmops_golden_pass_rate``               golden_set                             share of judged cases passing
``llmops_golden_metric``                  golden_set, metric                     mean over the set's cases
``llmops_aggregate_value``                aggregate, metric, scope               run-level aggregate
``llmops_aggregate_passed``               aggregate, metric, scope               1 met its bounds, else 0
``llmops_prompt_info``                    prompt, version, hash                  1
``llmops_sampled_pass_rate``              test                                   with ``--per-test`` only
========================================  =====================================  ==============================
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import ReportError
from .export_figures import RunFigures, run_figures
from .load import ReviewRecord

FORMATS = ("openmetrics", "prometheus")


def _family(name: str, doc: str, labels: Sequence[str], const: dict[str, str]) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    return GaugeMetricFamily(name, doc, labels=[*const, *labels])


def _add(family: Any, const: dict[str, str], labels: Sequence[str], value: float | None) -> None:
    if value is not None:
        family.add_metric([*const.values(), *labels], float(value))


def _run_families(record: ReviewRecord, fig: RunFigures, const: dict[str, str]) -> Iterator[Any]:
    run, side = record.meta.run, fig.side
    info = _family("llmops_run_info", "The run: git commit and branch, plugin version, record mode",
                   ["commit", "branch", "plugin_version", "record_mode"], const)
    _add(info, const, [side.commit or "", side.branch or "", run.plugin_version, run.record_mode or ""], 1)
    yield info
    started = _family("llmops_run_start_timestamp_seconds", "When the run started (Unix time)", [], const)
    _add(started, const, [], _dt.datetime.fromisoformat(run.started_at.replace("Z", "+00:00")).timestamp())
    yield started
    duration = _family("llmops_run_duration_seconds", "Wall time of the run", [], const)
    _add(duration, const, [], run.duration_s)
    yield duration
    tests = _family("llmops_tests", "Tests by outcome", ["outcome"], const)
    for outcome, count in side.outcomes.items():
        _add(tests, const, [outcome], count)
    yield tests
    for name, doc, value in (
        ("llmops_pass_rate", "passed / (passed + failed) over the run", side.pass_rate),
        ("llmops_pass_rate_interval_low", "95% Wilson interval of the pass rate, low end",
         side.interval[0] if side.interval else None),
        ("llmops_pass_rate_interval_high", "95% Wilson interval of the pass rate, high end",
         side.interval[1] if side.interval else None),
        ("llmops_cost_usd", "Money spent on live model calls, USD", fig.spent_usd),
        ("llmops_replayed_cost_usd", "What the replayed calls cost when recorded, USD", fig.replayed_usd),
    ):
        family = _family(name, doc, [], const)
        _add(family, const, [], value)
        yield family
    calls = _family("llmops_calls", "Model calls by source", ["source"], const)
    _add(calls, const, ["live"], fig.live_calls)
    _add(calls, const, ["replayed"], fig.replayed_calls)
    yield calls
    tokens = _family("llmops_tokens", "Tokens of all model calls", ["kind"], const)
    totals = record.meta.totals.tokens
    for kind in ("prompt", "completion", "total"):
        _add(tokens, const, [kind], getattr(totals, kind))
    yield tokens
    for name, attr in (("llmops_latency_p50_seconds", "p50_s"), ("llmops_latency_p95_seconds", "p95_s")):
        family = _family(name, f"Call latency {attr[:3]} per model", ["model"], const)
        for model, lat in sorted(fig.latency.items()):
            _add(family, const, [model], getattr(lat, attr))
        yield family


def _detail_families(fig: RunFigures, const: dict[str, str], per_test: bool) -> Iterator[Any]:
    cases = _family("llmops_golden_cases", "Golden-set cases in the run", ["golden_set"], const)
    rate = _family("llmops_golden_pass_rate", "Share of the set's judged cases that passed", ["golden_set"], const)
    metric = _family("llmops_golden_metric", "Mean of a metric over the set's cases", ["golden_set", "metric"], const)
    for g in fig.golden:
        _add(cases, const, [g.path], g.cases)
        _add(rate, const, [g.path], g.pass_rate)
        for name, value in g.metrics.items():
            _add(metric, const, [g.path, name], value)
    yield from (cases, rate, metric)
    value = _family("llmops_aggregate_value", "Run-level aggregate (e.g. mean recall@5 over a golden set)",
                    ["aggregate", "metric", "scope"], const)
    passed = _family("llmops_aggregate_passed", "1 when the aggregate met its bounds", ["aggregate", "metric", "scope"],
                     const)
    for a in fig.aggregates:
        labels = [a.name, a.metric, a.scope or ""]
        _add(value, const, labels, a.value)
        _add(passed, const, labels, None if a.passed is None else int(a.passed))
    yield from (value, passed)
    prompts = _family("llmops_prompt_info", "Prompt versions used, with their content hash",
                      ["prompt", "version", "hash"], const)
    for name, version, digest in fig.prompts:
        _add(prompts, const, [name, version, digest], 1)
    yield prompts
    if per_test:
        sampled = _family("llmops_sampled_pass_rate", "Pass rate of a sampled test's samples", ["test"], const)
        for nodeid, (k, n, _lo, _hi) in fig.sampled.items():
            _add(sampled, const, [nodeid], k / n if n else None)
        yield sampled


class _Collector:
    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> Iterator[Any]:
        yield from self.families


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    import re

    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) or key.startswith("__"):
            raise ReportError(f"--label {pair!r}: expected NAME=VALUE with a Prometheus label name")
        labels[key] = value
    return labels


def render_metrics(record: ReviewRecord, *, fmt: str = "openmetrics", labels: dict[str, str] | None = None,
                   per_test: bool = False) -> str:
    """The record as exposition text in ``fmt`` (``openmetrics`` or ``prometheus``)."""
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        raise ReportError("the openmetrics export needs prometheus_client: pip install 'pytest-llmops[openmetrics]'") \
            from None
    const = dict(labels or {})
    fig = run_figures(record)
    families = [f for f in (*_run_families(record, fig, const), *_detail_families(fig, const, per_test)) if f.samples]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(families))
    if fmt == "openmetrics":
        from prometheus_client.openmetrics.exposition import generate_latest
    elif fmt == "prometheus":
        from prometheus_client.exposition import generate_latest
    else:
        raise ReportError(f"unknown metrics format {fmt!r}; choose from {', '.join(FORMATS)}")
    return generate_latest(registry).decode("utf-8")
