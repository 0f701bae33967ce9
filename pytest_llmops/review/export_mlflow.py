"""A run record as an MLflow run (``pytest-llmops export --mlflow RECORD``; extra ``mlflow``).

Logged through ``MlflowClient`` (no global state): the experiment (``--experiment``, default
``pytest-llmops``) is created when missing, then one run named after the commit (or ``--run-name``) with

* **params** ``git.commit``, ``git.branch``, ``plugin_version``, ``record_mode``, ``models`` (comma-separated),
  ``prompt.<name>.<version>`` = the version's content hash (one per prompt version the run used);
* **metrics** ``pass_rate``, ``pass_rate_low`` / ``pass_rate_high`` (95% Wilson), ``tests.<outcome>``,
  ``cost_usd`` (spent), ``replayed_cost_usd``, ``tokens``, ``p95_latency_s``, ``golden.<set>.pass_rate`` and
  ``golden.<set>.<metric>`` (mean over the set's cases), ``aggregate.<name>``; timestamps are the run's start;
* **tags** ``mlflow.source.git.commit``, ``llmops.branch``, ``llmops.record`` (the record's file name);
* **artifacts** the record (``run-record.json``) and, when plotly is installed, the one-run HTML report
  (``report.html``).

Names are reduced to the characters MLflow accepts (letters, digits, ``_ - . / space``; others become ``_``).
The tracking URI is ``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else MLflow's default.
"""

from __future__ import annotations

import datetime as _dt
import re
import tempfile
from pathlib import Path
from typing import Any

from ..errors import ReportError
from .export_figures import RunFigures, run_figures
from .load import ReviewRecord

DEFAULT_EXPERIMENT = "pytest-llmops"
_BAD = re.compile(r"[^\w\-. /]")


def key(text: str) -> str:
    return _BAD.sub("_", text)[:250]


def params_of(record: ReviewRecord, fig: RunFigures) -> dict[str, str]:
    run = record.meta.run
    params = {
        "git.commit": fig.side.commit or "",
        "git.branch": fig.side.branch or "",
        "plugin_version": run.plugin_version,
        "record_mode": run.record_mode or "",
        "models": ",".join(fig.models),
    }
    for name, version, digest in fig.prompts:
        params[key(f"prompt.{name}.{version}")] = digest
    return params


def metrics_of(fig: RunFigures) -> dict[str, float]:
    side = fig.side
    metrics: dict[str, float | None] = {
        "pass_rate": side.pass_rate,
        "pass_rate_low": side.interval[0] if side.interval else None,
        "pass_rate_high": side.interval[1] if side.interval else None,
        "tests": side.tests,
        "cost_usd": fig.spent_usd,
        "replayed_cost_usd": fig.replayed_usd,
        "tokens": side.tokens,
        "p95_latency_s": side.p95_latency_s,
    }
    for outcome, count in side.outcomes.items():
        metrics[f"tests.{outcome}"] = count
    for g in fig.golden:
        metrics[key(f"golden.{g.path}.pass_rate")] = g.pass_rate
        for name, value in g.metrics.items():
            metrics[key(f"golden.{g.path}.{name}")] = value
    for a in fig.aggregates:
        metrics[key(f"aggregate.{a.name}")] = a.value
    return {k: float(v) for k, v in metrics.items() if v is not None}


def _client(tracking_uri: str | None) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ReportError("the MLflow export needs mlflow: pip install 'pytest-llmops[mlflow]'") from None
    return MlflowClient(tracking_uri=tracking_uri)


def _experiment_id(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def _html(record: ReviewRecord) -> str | None:
    try:
        import plotly  # noqa: F401
    except ImportError:
        return None
    from .diff import diff_records
    from .html import render_html

    return render_html(record, record, diff_records(record, record, base_label=record.label, head_label=record.label))


def log_run(record: ReviewRecord, record_path: Path, *, tracking_uri: str | None = None,
            experiment: str = DEFAULT_EXPERIMENT, run_name: str | None = None, html: bool = True) -> str:
    """Log ``record`` as one MLflow run; returns its run id.  MLflow's errors become ReportError."""
    client = _client(tracking_uri)
    from mlflow.exceptions import MlflowException

    try:
        return _log(client, record, record_path, experiment, run_name, html)
    except MlflowException as exc:
        raise ReportError(f"MLflow ({tracking_uri or 'default tracking URI'}): {exc.message}") from None


def _log(client: Any, record: ReviewRecord, record_path: Path, experiment: str, run_name: str | None,
         html: bool) -> str:
    from mlflow.entities import Metric, Param, RunTag

    fig = run_figures(record)
    started = int(_dt.datetime.fromisoformat(record.meta.run.started_at.replace("Z", "+00:00")).timestamp() * 1000)
    tags = {"mlflow.source.git.commit": fig.side.commit or "", "llmops.branch": fig.side.branch or "",
            "llmops.record": Path(record_path).name}
    name = run_name or (f"llmops {fig.side.commit[:10]}" if fig.side.commit else f"llmops {record.meta.run.started_at}")
    run = client.create_run(_experiment_id(client, experiment), start_time=started, tags=tags, run_name=name)
    run_id = run.info.run_id
    try:
        client.log_batch(run_id, metrics=[Metric(k, v, started, 0) for k, v in sorted(metrics_of(fig).items())],
                         params=[Param(k, v) for k, v in sorted(params_of(record, fig).items())],
                         tags=[RunTag(k, v) for k, v in sorted(tags.items())])
        with tempfile.TemporaryDirectory(prefix="llmops-mlflow-") as tmp:
            copy = Path(tmp) / "run-record.json"
            copy.write_bytes(Path(record_path).read_bytes())
            client.log_artifact(run_id, str(copy))
            page = _html(record) if html else None
            if page is not None:
                (Path(tmp) / "report.html").write_text(page, encoding="utf-8")
                client.log_artifact(run_id, str(Path(tmp) / "report.html"))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    finished = record.meta.run.finished_at
    end = int(_dt.datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp() * 1000) if finished else None
    client.set_terminated(run_id, status="FINISHED", end_time=end)
    return str(run_id)
