"""Secrets: no credential ends up in any file a run writes.

A small suite calls the loopback provider in record mode ``once`` with fake keys in the environment
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY`` and a custom ``ACME_SERVICE_TOKEN``, each with a distinctive value)
and an explicit ``api_key=`` argument, in each way the plugin supports: the app's own ``litellm.completion``
(captured), the ``llm`` fixture, and ``@pytest.mark.llm(...)`` defaults.  It writes a run record; then the
review CLI renders the markdown diff and the HTML report.  Every file under the run's directory (recordings,
record, HTML, markdown, ``.llmops_cache``, pytest's cache) is scanned for the secret values.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops.testing.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {
    "OPENAI_API_KEY": "sk-openai-FAKE-7f3a9c1e5b2d4f6a8c0e",
    "ANTHROPIC_API_KEY": "sk-ant-FAKE-2b8d4f6a0c1e3a5c7e9b",
    "ACME_SERVICE_TOKEN": "acme-FAKE-9e1c3a5b7d0f2b4d6f8a",
}
EXPLICIT_KEY = "sk-explicit-FAKE-4c6e8a0b2d1f3e5a7c9d"
MARKER_KEY = "sk-marker-FAKE-6a8c0e2b4d3f5a7c9e1b"

pytestmark = pytest.mark.slow

SUITE = '''
import os

import litellm
import pytest

BASE = os.environ["LOOPBACK_BASE"]
EXPLICIT = os.environ["LOOPBACK_CREDENTIAL"]  # as an app gets a key from its own config: a name no scrubber knows
MARKER = os.environ["LOOPBACK_MARKER_CREDENTIAL"]


def test_app_call_with_explicit_key(llmops):
    response = litellm.completion(model="openai/loopback-model", api_base=BASE, api_key=EXPLICIT,
                                  messages=[{{"role": "user", "content": "reset my password"}}], temperature=0)
    llmops.artifact("answer", response.choices[0].message.content)


def test_app_call_with_env_key(llmops):
    response = litellm.completion(model="openai/loopback-model", api_base=BASE,
                                  messages=[{{"role": "user", "content": "export my notes"}}], temperature=0)
    llmops.metric("length", len(response.choices[0].message.content), min=1)


def test_fixture_call_with_explicit_key(llm, llmops):
    reply = llm.complete("what plans exist?", model="openai/loopback-model", api_base=BASE,
                         api_key=EXPLICIT, temperature=0)
    llmops.note(reply.text)


@pytest.mark.llm(model="openai/loopback-model", api_base=BASE, api_key=MARKER, temperature=0)
def test_marker_defaults_with_key(llm):
    assert llm.complete("how do I sync?").text


def test_failing_call_reports_without_the_key():
    response = litellm.completion(model="openai/loopback-model", api_base=BASE, api_key=EXPLICIT,
                                  messages=[{{"role": "user", "content": "cancel my plan"}}], temperature=0)
    assert response.choices[0].message.content == "something else"
'''


def _all_values() -> dict[str, str]:
    return {**SECRETS, "explicit api_key=": EXPLICIT_KEY, "@pytest.mark.llm api_key=": MARKER_KEY}


def _suite() -> str:
    return SUITE.replace("{{", "{").replace("}}", "}")


def _scan(folder: Path) -> list[str]:
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        for name, value in _all_values().items():
            tail = value[-12:]  # catches a partially masked key too
            if value.encode() in content or tail.encode() in content:
                leaks.append(f"{path.relative_to(folder)}: {name}")
    return leaks


@pytest.fixture(scope="module")
def secret_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "test_secret_suite.py").write_text(_suite(), encoding="utf-8")
    (folder / "pytest.ini").write_text(
        "[pytest]\nllmops_embedder = lexical\nllmops_prices =\n    openai/loopback-model = 1 2\n", encoding="utf-8")
    with LoopbackServer(model_name="loopback-model") as server:
        env = {**os.environ, **SECRETS, "LOOPBACK_BASE": server.base_url,
               "LOOPBACK_CREDENTIAL": EXPLICIT_KEY, "LOOPBACK_MARKER_CREDENTIAL": MARKER_KEY, "LLMOPS_CACHE_DIR": str(folder / ".llmops_cache"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "--llmops-record-mode=once", "--llmops-report=record.json",
             "-o", f"cache_dir={folder / '.pytest_cache'}"],
            cwd=folder, env=env, capture_output=True, text=True, timeout=300)
        headers = [r.get("headers", {}) for r in server.requests]
    assert (folder / "record.json").is_file(), done.stdout[-3000:] + done.stderr[-3000:]
    # the keys did reach the provider: the scan below is not vacuous
    sent = " ".join(str(h.get("authorization", "")) for h in headers)
    assert EXPLICIT_KEY in sent and SECRETS["OPENAI_API_KEY"] in sent and MARKER_KEY in sent, sent
    return folder, done


def test_suite_ran_as_intended(secret_run):
    folder, done = secret_run
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 failed, 4 passed" in done.stdout, done.stdout[-3000:]
    recordings = list((folder / "recordings").rglob("*.json"))
    assert len(recordings) == 5, recordings


def test_no_secret_in_recordings_cache_or_test_output(secret_run):
    folder, done = secret_run
    leaks = [leak for leak in _scan(folder) if not leak.startswith("record.json")]
    assert not leaks, "\n".join(leaks)
    output = done.stdout + done.stderr
    assert not [name for name, value in _all_values().items() if value in output]


def test_no_secret_in_the_run_record_outside_markers(secret_run):
    folder, _ = secret_run
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    for test in record["tests"]:
        test.pop("markers", None)
    text = json.dumps(record)
    leaks = [name for name, value in _all_values().items() if value in text or value[-12:] in text]
    assert not leaks, leaks


def test_no_secret_in_the_run_record(secret_run):
    folder, _ = secret_run
    leaks = [leak for leak in _scan(folder) if leak.startswith("record.json")]
    assert not leaks, "\n".join(leaks)


def test_no_secret_in_the_rendered_diff(secret_run):
    folder, _ = secret_run
    if not (ROOT / "pytest_llmops" / "review" / "cli.py").is_file():
        pytest.skip("the review CLI does not exist yet")
    reports = folder / "reports"
    reports.mkdir()
    command = [sys.executable, "-c", "import sys; from pytest_llmops.cli import main; sys.exit(main())",
               "diff", "record.json", "record.json", "-o", str(reports / "diff.md"), "--html", str(reports / "diff.html")]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (reports / "diff.md").stat().st_size > 0 and (reports / "diff.html").stat().st_size > 0
    leaks = _scan(reports)
    assert not leaks, "\n".join(leaks)
