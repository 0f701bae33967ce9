"""Named baselines: `pytest-llmops baseline bless RECORD --as main` and `--llmops-baseline=main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmops.cli import main
from pytest_llmops.review import synthetic as syn

SUITE = """
import os

def test_quality(llmops):
    llmops.metric("score", float(os.environ.get("SCORE", "0.9")), min=0.5)
    assert os.environ.get("BREAK") != "1"
"""


def _record(path: Path) -> Path:
    path.write_text(json.dumps(syn.record([syn.test("t.py::test_a"), syn.test("t.py::test_b", "failed")])))
    return path


def test_bless_list_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = _record(tmp_path / "run.json")
    store = tmp_path / "store"
    assert main(["baseline", "bless", str(record), "--as", "main", "--dir", str(store)]) == 0
    assert (store / "main.json").read_bytes() == record.read_bytes()
    assert "--llmops-baseline=main" in capsys.readouterr().err
    assert main(["baseline", "bless", str(record), "--as", "release-1.2", "--dir", str(store)]) == 0
    assert main(["baseline", "list", "--dir", str(store)]) == 0
    assert capsys.readouterr().out.split() == ["main", "release-1.2"]
    assert main(["baseline", "path", "main", "--dir", str(store)]) == 0
    assert capsys.readouterr().out.strip() == str(store / "main.json")


def test_bless_refuses_bad_names_and_broken_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = _record(tmp_path / "run.json")
    store = tmp_path / "store"
    for name in ("../evil", "a/b", "main.json", ""):
        assert main(["baseline", "bless", str(record), "--as", name, "--dir", str(store)]) == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "pytest-llmops-run", "schema_version": 1, "run": {}}')
    assert main(["baseline", "bless", str(broken), "--as", "main", "--dir", str(store)]) == 2
    assert "broken.json" in capsys.readouterr().err
    assert not store.exists() or list(store.iterdir()) == []
    assert main(["baseline", "path", "nope", "--dir", str(store)]) == 2


def test_plugin_resolves_a_blessed_name(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(test_q=SUITE)
    args = ("-p", "no:cacheprovider", "-q")
    first = pytester.runpytest(*args, "--llmops-report=base.json")
    assert first.ret == 0
    store = pytester.path / ".llmops" / "baselines"  # the default directory under the rootdir
    assert main(["baseline", "bless", str(pytester.path / "base.json"), "--as", "main", "--dir", str(store)]) == 0

    same = pytester.runpytest(*args, "--llmops-baseline=main")
    assert same.ret == 0, same.stdout.str()
    same.stdout.fnmatch_lines(["*llmops baseline main.json: *"])

    monkeypatch.setenv("BREAK", "1")
    broken = pytester.runpytest(*args, "--llmops-baseline=main")
    assert broken.ret == 1
    broken.stdout.fnmatch_lines(["*llmops baseline main.json: *regression*"])

    unknown = pytester.runpytest(*args, "--llmops-baseline=nightly")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    unknown.stderr.fnmatch_lines(["*--llmops-baseline: 'nightly' is neither a file*known baselines: main*"])


def test_ini_baselines_dir_and_files_still_win(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_q=SUITE)
    pytester.makeini("[pytest]\nllmops_baselines_dir = ci/baselines\n")
    args = ("-p", "no:cacheprovider", "-q")
    assert pytester.runpytest(*args, "--llmops-report=base.json").ret == 0
    store = pytester.path / "ci" / "baselines"
    assert main(["baseline", "bless", str(pytester.path / "base.json"), "--as", "main", "--dir", str(store)]) == 0
    named = pytester.runpytest(*args, "--llmops-baseline=main")
    named.stdout.fnmatch_lines(["*llmops baseline main.json: *"])
    (pytester.path / "main").write_text((pytester.path / "base.json").read_text())  # a file named like the baseline
    as_file = pytester.runpytest(*args, "--llmops-baseline=main")
    as_file.stdout.fnmatch_lines(["*llmops baseline main: *"])  # the existing file is used, not the name
