"""Chaos run: the example suite's answer and triage tests, live against a faulty loopback provider.

A :class:`~pytest_llmops.testing.loopback.LoopbackServer` started here answers with a deterministic responder
(a pure function of the request: the golden answer of the question asked, citing the first ``[kb-NN]`` article
of the prompt; for triage the golden category/priority as schema-valid JSON).  The suite runs twice in
subprocesses with ``--llmops-record-mode=off``: once clean, once with faults injected at a fixed seeded rate
(429 with Retry-After, 500, hangs longer than ``--llmops-timeout``, malformed bodies) and
``--llmops-retries=1`` so that some calls exhaust their retries, plus a run cost cap below what the clean
run spent.  The server logs the fault it served on every request, so the expected outcome of every test is
known: a test whose every attempt was faulted, or that came after the cap was spent, must be ``error``
(never ``failed``); every other test must end exactly as in the clean run.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_llmops.record.io import validate_data

from pytest_llmops.testing.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_suite"
MODEL = "openai/loopback-model"
PRICE_IN, PRICE_OUT = 1.0, 2.0  # USD per 1M tokens: under the suite's per-test budget of $0.001
RETRIES = 1
TIMEOUT_S = 2
HANG_S = 6.0  # longer than the timeout: a hang must end the attempt as a timeout
FAULT_RATE = 0.35
FAULT_SEED = 1  # with this seed the faults hit calls early enough: every kind, and 3 calls exhaust retries
FAULT_KINDS = ("429", "500", "hang", "malformed")
CAP_FRACTION = 0.6  # of what the clean run spent: the chaos run hits the cap near its end
KB_ID = re.compile(r"\[(kb-\d{2})\]")

pytestmark = pytest.mark.slow


# -- the deterministic provider ------------------------------------------------------------------------


@functools.cache
def _app_guardrails() -> Any:
    """The example app's guardrails module, loaded under a private name (no ``app`` package on sys.path)."""
    name = "llmops_chaos_example_guardrails"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / "app" / "guardrails.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _sent_text(golden_input: str) -> str:
    """What the app puts into the prompt for a golden input: the input after its PII guardrail."""
    return _app_guardrails().check_input(golden_input).text.strip()


def _golden_cases() -> dict[str, dict[str, Any]]:
    """``case id -> case`` of both golden sets."""
    cases = {}
    for line in (EXAMPLE / "goldens" / "support.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            cases[case["id"]] = case
    for case in yaml.safe_load((EXAMPLE / "goldens" / "triage.yaml").read_text(encoding="utf-8"))["cases"]:
        cases[case["id"]] = case
    return cases


CASES = _golden_cases()


@functools.cache
def _expected_by_sent_text() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    answers = {_sent_text(c["input"]): c.get("expected") or "" for c in CASES.values()
               if isinstance(c.get("expected"), str)}
    triage = {_sent_text(c["input"]): c["expected"] for c in CASES.values() if isinstance(c.get("expected"), dict)}
    return answers, triage


def _user_text(body: dict) -> str:
    users = [m.get("content") or "" for m in body.get("messages") or [] if m.get("role") == "user"]
    return users[-1] if users else ""


def request_subject(body: dict) -> str:
    """The question or ticket a request is about (identifies the test that sent it)."""
    text = _user_text(body)
    for marker in ("Question:", "Ticket:"):
        if marker in text:
            return text.rsplit(marker, 1)[1].strip()
    return text.strip()


def responder(body: dict) -> str:
    """A pure function of the request."""
    subject = request_subject(body)
    if (body.get("response_format") or {}).get("type") == "json_object":
        expected = _expected_by_sent_text()[1].get(subject) or {"category": "other", "priority": "normal"}
        return json.dumps({**expected, "needs_human": expected["priority"] in ("high", "urgent"),
                           "summary": f"Ticket about {expected['category']}."})
    cited = KB_ID.search(_user_text(body))
    if cited is None:
        return "I can only help with Lumen questions; please contact support@lumen.example."
    answer = _expected_by_sent_text()[0].get(subject) or f"See the article about {subject}."
    return f"{answer} [{cited.group(1)}]"


class LoggingLoopback(LoopbackServer):
    """Notes on every logged request the fault (or None) it was served."""

    _current = threading.local()

    def _record(self, method: str, path: str, headers: dict, body: dict) -> None:
        super()._record(method, path, headers, body)
        with self._lock:
            self._current.entry = self.requests[-1]

    def _next_fault(self) -> str | None:
        fault = super()._next_fault()
        with self._lock:
            self._current.entry["fault"] = fault
        return fault


# -- the two runs ----------------------------------------------------------------------------------------


def _workspace(root: Path) -> Path:
    suite = root / "suite"
    shutil.copytree(EXAMPLE, suite, ignore=shutil.ignore_patterns("recordings", "__pycache__", "*.pyc"))
    prices = f"    {MODEL} = {PRICE_IN:g} {PRICE_OUT:g}"
    (suite / "pytest.ini").write_text(
        "[pytest]\n"
        "llmops_embedder = lexical\n"
        f"llmops_prices =\n{prices}\n",
        encoding="utf-8",
    )
    return suite


def _run(suite: Path, server: LoopbackServer, report: str, cap: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUPPORT_BOT_MODEL": MODEL, "SUPPORT_BOT_API_BASE": server.base_url,
           "SUPPORT_BOT_API_KEY": "sk-loopback-chaos", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    args = [sys.executable, "-m", "pytest", "test_answers.py", "test_triage.py", "-p", "no:cacheprovider",
            "-p", "no:randomly", "-q", "--llmops-record-mode=off", f"--llmops-report={report}",
            f"--llmops-timeout={TIMEOUT_S}", f"--llmops-retries={RETRIES}", f"--llmops-max-cost-usd={cap:.6f}",
            "--llmops-concurrency=1"]
    return subprocess.run(args, cwd=suite, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_chaos(tmp_path_factory.mktemp("chaos"))


def run_chaos(root: Path) -> dict[str, Any]:
    suite = _workspace(root)
    _expected_by_sent_text()  # load the guardrails here, not in the server's handler threads
    with LoggingLoopback(responder=responder, model_name="loopback-model") as server:
        clean_run = _run(suite, server, "clean.json", cap=1000.0)
        clean_requests = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    clean = json.loads((suite / "clean.json").read_text(encoding="utf-8"))
    cap = round(CAP_FRACTION * clean["totals"]["cost_usd"], 6)
    with LoggingLoopback(responder=responder, model_name="loopback-model", fault_rate=FAULT_RATE,
                         fault_kinds=FAULT_KINDS, seed=FAULT_SEED, retry_after_s=0.1, hang_s=HANG_S) as server:
        chaos_run = _run(suite, server, "chaos.json", cap=cap)
        chaos_requests = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    for name, requests in (("clean", clean_requests), ("chaos", chaos_requests)):  # for a post-mortem
        (suite / f"{name}-requests.json").write_text(json.dumps(requests, indent=1, default=str), encoding="utf-8")
    return {"suite": suite, "clean_run": clean_run, "chaos_run": chaos_run, "clean": clean, "cap": cap,
            "chaos_path": suite / "chaos.json", "clean_requests": clean_requests, "chaos_requests": chaos_requests}


def _tests(record: dict) -> dict[str, dict]:
    return {t["nodeid"]: t for t in record["tests"]}


def _attempts_by_subject(requests: list[dict]) -> dict[str, list[str | None]]:
    attempts: dict[str, list[str | None]] = defaultdict(list)
    for request in requests:
        attempts[request_subject(request)].append(request.get("fault"))
    return attempts


def _subjects(clean: dict, clean_requests: list[dict]) -> dict[str, str]:
    """nodeid -> the subject of the one model call it makes (tests that make no call are left out)."""
    sent = {request_subject(r) for r in clean_requests}
    subjects = {}
    for test in clean["tests"]:
        case_id = test["nodeid"].rsplit("[", 1)[1].rstrip("]")
        subject = _sent_text(CASES[case_id]["input"])
        if test.get("calls"):
            assert subject in sent, f"{test['nodeid']}: no request about {subject!r} in the clean run"
            subjects[test["nodeid"]] = subject
    assert len(subjects) == len(clean_requests), "the clean run should make one request per calling test"
    return subjects


# -- checks ----------------------------------------------------------------------------------------------


def test_clean_run_is_sane(chaos):
    run, clean = chaos["clean_run"], chaos["clean"]
    validate_data(clean, Path("clean.json"))
    outcomes = clean["totals"]["outcomes"]
    assert clean["totals"]["tests"] == 32 and outcomes.get("error", 0) == 0, run.stdout[-3000:]
    assert outcomes.get("passed", 0) >= 28, run.stdout[-3000:]
    assert clean["totals"]["cost_usd"] > 0 and not clean["totals"]["cost_cap_hit"]
    assert all(r.get("fault") is None for r in chaos["clean_requests"])


def test_chaos_run_finishes_and_its_record_validates(chaos):
    run = chaos["chaos_run"]
    assert run.returncode in (0, 1), f"exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "INTERNALERROR" not in run.stdout + run.stderr
    record = json.loads(chaos["chaos_path"].read_text(encoding="utf-8"))
    validate_data(record, chaos["chaos_path"])
    assert record["totals"]["tests"] == 32
    faults = [r["fault"] for r in chaos["chaos_requests"] if r.get("fault")]
    assert set(faults) == set(FAULT_KINDS), f"the seed should produce every fault kind, got {faults}"


def test_faulted_tests_are_errors_and_the_rest_match_the_clean_run(chaos):
    clean_tests, record = _tests(chaos["clean"]), json.loads(chaos["chaos_path"].read_text(encoding="utf-8"))
    chaos_tests = _tests(record)
    subjects = _subjects(chaos["clean"], chaos["clean_requests"])
    attempts = _attempts_by_subject(chaos["chaos_requests"])
    problems = []
    exhausted = budget = 0
    for nodeid, clean_entry in clean_tests.items():
        entry = chaos_tests[nodeid]
        subject = subjects.get(nodeid)
        tried = attempts.get(subject, []) if subject else []
        if entry["outcome"] == "failed" and clean_entry["outcome"] != "failed":
            problems.append(f"{nodeid}: failed under faults (attempts {tried}): {entry.get('message')}")
        elif subject and len(tried) == RETRIES + 1 and all(tried):  # a hang ends as a timeout: a fault too
            exhausted += 1
            if (entry["outcome"], entry.get("error_kind")) != ("error", "provider"):
                problems.append(f"{nodeid}: every attempt faulted {tried} but outcome {entry['outcome']}"
                                f"/{entry.get('error_kind')}")
        elif subject and not tried:
            budget += 1
            if (entry["outcome"], entry.get("error_kind")) != ("error", "budget"):
                problems.append(f"{nodeid}: never reached the provider but outcome {entry['outcome']}/"
                                f"{entry.get('error_kind')}")
        elif entry["outcome"] != clean_entry["outcome"]:
            problems.append(f"{nodeid}: {clean_entry['outcome']} when clean, {entry['outcome']} under faults "
                            f"(attempts {tried}): {entry.get('message')}")
    assert not problems, "\n".join(problems)
    assert exhausted >= 2, "the seed should make some calls exhaust their retries"
    assert budget >= 1, "the cost cap should stop the last calls of the chaos run"


def test_hung_attempts_time_out_at_the_llmops_timeout(chaos):
    attempts = _attempts_by_subject(chaos["chaos_requests"])
    hung = {subject: tried for subject, tried in attempts.items() if "hang" in tried[: RETRIES]}
    assert hung, "the seed should hang some first attempts"
    # a hang longer than --llmops-timeout must end that attempt, so a retry follows it
    stuck = {subject: tried for subject, tried in hung.items() if tried[-1] == "hang" and len(tried) <= RETRIES}
    assert not stuck, f"hung attempts were waited out instead of timing out: {stuck}"


def test_spent_cost_stays_within_the_cap(chaos):
    record = json.loads(chaos["chaos_path"].read_text(encoding="utf-8"))
    totals = record["totals"]
    costs = [call["cost_usd"] or 0.0 for t in record["tests"] for call in t.get("calls", []) if not call.get("cached")]
    in_flight = max(costs)  # one call at a time (--llmops-concurrency=1): at most one call past the check
    assert totals["cost_cap_usd"] == pytest.approx(chaos["cap"])
    assert totals["cost_cap_hit"] is True
    assert totals["cost_usd"] == pytest.approx(sum(costs))
    assert totals["cost_usd"] <= chaos["cap"] + in_flight + 1e-9


def _diff(chaos: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    if not (ROOT / "pytest_llmops" / "review" / "cli.py").is_file():
        pytest.skip("the review CLI does not exist yet")
    command = [sys.executable, "-c", "import sys; from pytest_llmops.cli import main; sys.exit(main())",
               "diff", "clean.json", "chaos.json", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, cwd=chaos["suite"], capture_output=True, text=True, timeout=300, env=env)


def test_diff_finds_no_quality_regression(chaos):
    """Outcomes, metrics, cost and tokens: provider faults and a spent cap never read as a regression."""
    done = _diff(chaos, "--format", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["errors"]) >= 3, "the faulted tests should be listed as errors"
    quality = [f for f in result["regressions"] if f["kind"] != "latency"]
    assert not quality, json.dumps(quality, indent=1)


def test_diff_against_the_clean_run_reports_no_regression(chaos):
    done = _diff(chaos, "--fail-on", "regression", "--format", "text")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
