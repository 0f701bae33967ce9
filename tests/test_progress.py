"""Issue 18: the live-run progress line, under a pseudo-terminal (alone and with -n 2), in a CI log, and -q."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmops.plugin.progress import eta_seconds, format_line
from pytest_llmops.testing.loopback import LoopbackServer

SUITE = """
import pytest

@pytest.mark.parametrize("i", range(6))
def test_live(llm, i):
    assert llm.complete(f"question {i}").text
"""

LINE = re.compile(r"llmops live: (\d+) calls, spent \$(\d+\.\d+) of \$5\.00 cap, tests (\d+)/6(, ETA \d+s)?")


def _project(tmp_path: Path, base_url: str) -> Path:
    (tmp_path / "test_live.py").write_text(SUITE, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nllmops_model = openai/loopback-model\nllmops_api_base = {base_url}\n"
        "llmops_prices = openai/loopback-model = 1000 2000\n", encoding="utf-8")
    return tmp_path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(OPENAI_API_KEY="sk-loopback", COLUMNS="160")
    return env


def run_in_pty(cwd: Path, *args: str) -> str:
    """Run pytest with its stdout on a pseudo-terminal (as a developer's shell), return what it printed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=_env())
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8", "replace"))


@pytest.mark.parametrize("extra", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_progress_line_under_a_terminal(tmp_path: Path, extra: list[str]) -> None:
    with LoopbackServer(latency_s=0.4) as server:
        out = run_in_pty(_project(tmp_path, server.base_url), "--llmops-record-mode=off",
                         "--llmops-max-cost-usd=5", *extra)
    assert "6 passed" in out, out[-3000:]
    lines = LINE.findall(out)
    assert lines, out[-3000:]
    calls = [int(c) for c, _, _, _ in lines]
    assert calls == sorted(calls) and max(calls) <= 6
    assert all(float(spent) > 0 for _, spent, _, _ in lines)  # priced: money is counted as it is spent
    assert any(eta for *_, eta in lines), "no ETA from the observed latency"


def test_progress_in_a_ci_log_and_quiet(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        project = _project(tmp_path, server.base_url)
        plain = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--llmops-record-mode=off",
                                "--llmops-max-cost-usd=5"], cwd=project, capture_output=True, text=True, env=_env())
        quiet = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                                "--llmops-record-mode=off"], cwd=project, capture_output=True, text=True, env=_env())
    assert "6 passed" in plain.stdout and "6 passed" in quiet.stdout
    assert "\x1b[" not in plain.stdout  # plain text in a log
    assert 1 <= len(LINE.findall(plain.stdout)) <= 2  # periodic, not one line per test
    assert "llmops live:" not in quiet.stdout


def test_replayed_runs_show_no_progress(tmp_path: Path) -> None:
    (tmp_path / "test_idle.py").write_text("def test_ok():\n    pass\n", encoding="utf-8")
    out = run_in_pty(tmp_path)
    assert "1 passed" in out and "llmops live:" not in out


def test_eta_and_line_format() -> None:
    assert eta_seconds(10, 4.0, 2, 2) == pytest.approx(10.0)
    assert eta_seconds(10, 0.0, 2, 1) is None and eta_seconds(3, 1.0, 0, 1) is None
    totals = {"live_calls": 3, "spent_usd": 0.5, "cap_usd": 2.5, "unpriced_calls": 1, "cap_hit": False}
    assert format_line(totals, 3, 9, 75.0) == (
        "llmops live: 3 calls, spent $0.5000 of $2.50 cap, 1 unpriced, tests 3/9, ETA 1m15s")
    assert "CAP REACHED" in format_line({**totals, "cap_hit": True}, 3, None, None)
