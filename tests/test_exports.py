"""Exports of a run record, each parsed back by its own library and compared with the record:
JUnit XML properties (junitparser), OpenMetrics / Prometheus text (prometheus_client's parsers), MLflow
(a real sqlite tracking store, read back with MlflowClient)."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import by_nodeid, load_report
from inner_runs import MODEL, PRICE_IN, PRICE_OUT
from junitparser.xunit2 import JUnitXml
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from pytest_llmops.cli import main
from pytest_llmops.review import views
from pytest_llmops.review.load import load_review_record
from pytest_llmops.testing.loopback import LoopbackServer

PROMPT = """
name: support_answer
current: v2
versions:
  v1:
    template: "Answer: {{ question }}"
  v2:
    messages:
      - {role: system, content: "Answer from the docs."}
      - {role: user, content: "{{ question }}"}
"""

SUITE = """
import pytest
from pytest_llmops.record.recorder import current_sample_index

@pytest.mark.prompt("support_answer")
def test_answer(llm, llmops, prompt):
    reply = llm.complete(prompt.render(question="How do I reset my password?"), temperature=0)
    llmops.metric("length", len(reply.text), max=5000)
    llmops.metric("politeness", 0.75, min=0.5)

@pytest.mark.sampling(n=10, min_pass_rate=0.5, early_stop=False)
def test_sampled(llm):
    llm.complete(f"sample {current_sample_index()}", temperature=0)
    assert current_sample_index() % 4 != 3

def test_plain():
    pass
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    """One real run (a pytest subprocess) over HTTP to the loopback server, with --junitxml and --llmops-report."""
    root = tmp_path_factory.mktemp("exported")
    (root / "test_export.py").write_text(SUITE)
    (root / "prompts").mkdir()
    (root / "prompts" / "support_answer.yaml").write_text(PROMPT)
    env = {**os.environ, "OPENAI_API_KEY": "loopback-not-a-secret"}
    with LoopbackServer() as server:
        (root / "pytest.ini").write_text("\n".join([
            "[pytest]", f"llmops_model = {MODEL}", f"llmops_api_base = {server.base_url}",
            "llmops_prices =", f"    {MODEL} = {PRICE_IN:g} {PRICE_OUT:g}", ""]))
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               "--llmops-record-mode=off", "--junitxml=junit.xml", "--llmops-report=r.json"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "junit.xml", root / "r.json", load_report(root / "r.json")


def test_junit_xml_carries_llmops_properties(recorded) -> None:
    junit, _, record = recorded
    tests = by_nodeid(record)
    cases = {}
    for suite in JUnitXml.fromfile(str(junit)):
        for case in suite:
            cases[case.name] = {p.name: p.value for p in case.properties()}
    answer, sampled = cases["test_answer"], cases["test_sampled"]
    entry = tests["test_export.py::test_answer"]
    call = entry["calls"][0]
    assert float(answer["llmops.metric.length"]) == pytest.approx(entry["metrics"][0]["value"])
    assert float(answer["llmops.metric.politeness"]) == 0.75
    assert int(answer["llmops.tokens"]) == call["total_tokens"] > 0
    assert float(answer["llmops.cost_usd"]) == pytest.approx(call["cost_usd"], rel=1e-6) and call["cost_usd"] > 0
    assert float(answer["llmops.latency_s"]) == pytest.approx(call["latency_s"], rel=1e-5)
    assert answer["llmops.prompt.support_answer.version"] == "v2"
    assert answer["llmops.prompt.support_answer.hash"] == entry["prompts"][0]["hash"]
    info = tests["test_export.py::test_sampled"]["sampling"]
    assert (int(sampled["llmops.sampling.passes"]), int(sampled["llmops.sampling.samples"])) == (8, 10)
    assert float(sampled["llmops.sampling.pass_rate"]) == 0.8
    lo, hi = info["interval"]
    assert float(sampled["llmops.sampling.interval_low"]) == pytest.approx(lo, rel=1e-5) and lo < 0.8 < hi
    assert float(sampled["llmops.sampling.interval_high"]) == pytest.approx(hi, rel=1e-5)
    assert int(sampled["llmops.calls"]) == 10
    assert cases["test_plain"] == {}  # no llmops data, no properties


def _samples(families: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


@pytest.mark.parametrize("fmt", ["openmetrics", "prometheus"])
def test_openmetrics_text_parses_back_to_the_record(recorded, fmt: str, tmp_path: Path) -> None:
    parse = parse_openmetrics if fmt == "openmetrics" else parse_prometheus
    _, path, record = recorded
    out = tmp_path / "metrics.prom"
    assert main(["export", str(path), "--format", fmt, "-o", str(out), "--label", "suite=support"]) == 0
    text = out.read_text()
    assert text.endswith("# EOF\n") == (fmt == "openmetrics")
    samples = _samples(parse(text))
    suite = ("suite", "support")
    review = load_review_record(path)
    side = views.run_side(review, views.test_views(review))
    assert samples[("llmops_pass_rate", (suite,))] == pytest.approx(side.pass_rate) == 1.0
    assert samples[("llmops_pass_rate_interval_low", (suite,))] == pytest.approx(side.interval[0])
    assert samples[("llmops_tests", (("outcome", "passed"), suite))] == 3
    totals = record["totals"]
    assert samples[("llmops_cost_usd", (suite,))] == pytest.approx(totals["cost_usd"]) and totals["cost_usd"] > 0
    assert samples[("llmops_tokens", (("kind", "total"), suite))] == totals["tokens"]["total"]
    assert samples[("llmops_calls", (("source", "live"), suite))] == totals["live_calls"] == 11
    model, latency = next(iter(totals["latency"].items()))
    assert samples[("llmops_latency_p95_seconds", (("model", model), suite))] == pytest.approx(latency["p95_s"])
    (prompt,) = record["prompts"]
    key = ("llmops_prompt_info", (("hash", prompt["hash"]), ("prompt", "support_answer"), suite, ("version", "v2")))
    assert samples[key] == 1
    commit = (record["run"].get("git") or {}).get("commit") or ""
    info = [k for k in samples if k[0] == "llmops_run_info"]
    assert len(info) == 1 and ("commit", commit) in info[0][1]
    assert main(["export", str(path), "--format", fmt, "--label", "bad-name=x"]) == 2


def test_openmetrics_golden_sets_and_per_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_llmops.review import history_synthetic as hs

    records, _ = hs.series(runs=1, tests=30, seed=5)
    path = hs.write_series(tmp_path, records)[0]
    assert main(["export", str(path), "--format", "openmetrics", "--per-test"]) == 0
    samples = _samples(parse_openmetrics(capsys.readouterr().out))
    golden = [t for t in records[0]["tests"] if t.get("golden")]
    similarity = math.fsum(m["value"] for t in golden for m in t["metrics"] if m["name"] == "similarity") / len(golden)
    gs = ("golden_set", "goldens/support.jsonl")
    assert samples[("llmops_golden_metric", (gs, ("metric", "similarity")))] == pytest.approx(similarity)
    assert samples[("llmops_golden_cases", (gs,))] == len(golden)
    sampled = [t for t in records[0]["tests"] if t.get("sampling")]
    for t in sampled:
        k, f = t["sampling"]["passes"], t["sampling"]["failures"]
        assert samples[("llmops_sampled_pass_rate", (("test", t["nodeid"]),))] == pytest.approx(k / (k + f))


try:  # imported here, outside the inner pytest runs (they restore sys.modules)
    from mlflow.tracking import MlflowClient
except ImportError:
    MlflowClient = None
needs_mlflow = pytest.mark.skipif(MlflowClient is None or importlib.util.find_spec("sqlalchemy") is None,
                                  reason="MLflow is not installed (pip install 'pytest-llmops[mlflow]')")


@needs_mlflow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SQLAlchemy 2.1 deprecations inside MLflow's store
def test_mlflow_run_in_a_sqlite_tracking_store(recorded, tmp_path: Path) -> None:
    _, path, record = recorded
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_ARTIFACT_ROOT": str(tmp_path / "artifacts")}
    done = subprocess.run([sys.executable, "-m", "pytest_llmops.cli", "export", str(path), "--mlflow",
                           "--tracking-uri", uri, "--experiment", "nightly"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id = done.stderr.split("logged MLflow run ")[1].split()[0]

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == "nightly"
    assert run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    (prompt,) = record["prompts"]
    assert params["prompt.support_answer.v2"] == prompt["hash"]
    assert params["models"] == "openai/loopback-model"
    assert params["git.commit"] == ((record["run"].get("git") or {}).get("commit") or "")
    assert metrics["pass_rate"] == 1.0 and metrics["tests.passed"] == 3
    assert metrics["cost_usd"] == pytest.approx(record["totals"]["cost_usd"])
    assert metrics["tokens"] == record["totals"]["tokens"]["total"]
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"run-record.json", "report.html"} <= artifacts
    local = client.download_artifacts(run_id, "run-record.json", str(tmp_path))
    assert Path(local).read_bytes() == path.read_bytes()


XDIST_SUITE = """
import pytest

@pytest.mark.parametrize("i", range(4))
def test_scored(llmops, i):
    llmops.metric("score", i / 10, min=0.0)
"""


def test_junit_properties_travel_from_xdist_workers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=XDIST_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-n", "2", "--junitxml=junit.xml")
    assert result.ret == 0, result.stdout.str()[-2000:]
    scores = {}
    for suite in JUnitXml.fromfile(str(pytester.path / "junit.xml")):
        for case in suite:
            scores[case.name] = {p.name: p.value for p in case.properties()}
    assert {name: float(p["llmops.metric.score"]) for name, p in scores.items()} == {
        f"test_scored[{i}]": i / 10 for i in range(4)}
