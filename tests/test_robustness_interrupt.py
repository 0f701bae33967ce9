"""Interruption: Ctrl-C at random points of an xdist run never leaves a partial or invalid run record.

A small generated suite (tests that sleep briefly, some recording metrics) runs with ``-n 2`` and
``--llmops-report``; a valid record from a complete earlier run is on disk first.  For each fixed seed,
SIGINT is sent at a seeded random moment (to the whole process group, like a terminal's Ctrl-C, or to the
controller alone).  After the run exits, the record file is byte-for-byte the earlier one, or a new file that
validates against the schema and says ``run.interrupted == true`` (or, if the signal came after the run had
already finished, a valid record of a complete run).  No temporary file is left next to it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_llmops.record.io import validate_data

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (3, 29, 31, 43, 46)  # SIGINT at 1.5, 3.3, 0.2, 0.3 and 5.3 s: before the run starts, during, near its end
TESTS = 24
SLEEP_S = 0.25
EXIT_INTERRUPTED = 2

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

SUITE = f'''
import time
import pytest


@pytest.mark.parametrize("i", range({TESTS}))
def test_sleepy(i, llmops):
    time.sleep({SLEEP_S})
    if i % 3 == 0:
        llmops.metric("quality", 0.5 + i / 100, min=0.1)
        llmops.note(f"case {{i}}")
    assert i != 7, "one failing test, so the record holds every kind of outcome"
'''


def _command(report: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q", f"--llmops-report={report}"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """The suite, plus the bytes of a complete record written by an uninterrupted run."""
    pytest.importorskip("xdist")
    folder = tmp_path_factory.mktemp("interrupt")
    (folder / "test_sleepy.py").write_text(SUITE, encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    report = folder / "record.json"
    done = subprocess.run(_command(report), cwd=folder, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads(report.read_text(encoding="utf-8"))
    validate_data(data, report)
    assert data["run"]["interrupted"] is False and data["totals"]["tests"] == TESTS
    return folder, report.read_bytes()


@pytest.mark.parametrize("seed", SEEDS)
def test_sigint_leaves_the_previous_record_or_a_valid_interrupted_one(workspace, seed):
    folder, previous = workspace
    report = folder / "record.json"
    report.write_bytes(previous)
    rng = random.Random(seed)
    delay = rng.uniform(0.1, 6.0)
    whole_group = rng.random() < 0.5

    process = subprocess.Popen(_command(report), cwd=folder, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    time.sleep(delay)
    if process.poll() is None:
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"seed {seed}: the run did not stop within 120 s of SIGINT at {delay:.2f} s\n{output[-3000:]}")

    where = f"seed {seed} (SIGINT at {delay:.2f} s to the {'process group' if whole_group else 'controller'}, " \
            f"exit {process.returncode})"
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".record.json.")]
    assert not leftovers, f"{where}: temporary files left behind: {leftovers}"
    assert report.is_file(), f"{where}: the record file disappeared\n{output[-3000:]}"
    current = report.read_bytes()
    print(f"\n{where}: {'previous record kept' if current == previous else 'new record'}")
    if current == previous:
        return
    data = json.loads(current.decode("utf-8"))  # a partial file fails here
    validate_data(data, report)
    if process.returncode == EXIT_INTERRUPTED or data["totals"]["tests"] < TESTS:
        assert data["run"]["interrupted"] is True, f"{where}: a new record of an interrupted run must say so"
    else:
        assert data["run"]["interrupted"] is False and data["totals"]["tests"] == TESTS, where
