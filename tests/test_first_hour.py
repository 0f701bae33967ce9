"""Issue 18: a newcomer's first hour.  The README's first block is what CI runs; the Makefile behind it creates a
pinned virtualenv by itself; the packaging metadata is what an index accepts."""

from __future__ import annotations

import re
import os
import subprocess
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _commands(text: str) -> list[str]:
    """Command lines of a shell snippet: no comments, no blank lines, no trailing comments."""
    out = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def readme_first_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```(?:bash|sh|shell|console)?\n(.*?)```", text, re.S)
    assert match, "README.md has no code block"
    return _commands(match.group(1))


def ci_commands() -> list[str]:
    """The ``make`` commands .ci/run runs, in order."""
    return [line for line in _commands((ROOT / ".ci" / "run").read_text(encoding="utf-8"))
            if line.startswith("make ")]


def test_readme_first_block_is_what_ci_runs() -> None:
    first = readme_first_block()
    assert first == ci_commands(), f"README's first block {first} != .ci/run's {ci_commands()}"
    assert len(first) == 2 and all(cmd.startswith("make ") for cmd in first)


def test_ci_run_keeps_its_guards() -> None:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in text and "chromium" in text and "LLMOPS_CI_VENV" in text


def _dry_run(target: str, venv: Path) -> list[str]:
    # run from inside `make test` (CI), a sub-make would inherit the parent's flags and print its directory
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    out = subprocess.run(["make", "--no-print-directory", "-n", "-B", target, f"VENV={venv}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_each_make_target_creates_the_pinned_venv_then_runs_its_job(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    for target in ("example", "test"):
        lines = _dry_run(target, venv)
        joined = "\n".join(lines)
        assert f"python3 -m venv {venv}" in joined
        torch = next(i for i, line in enumerate(lines) if "install -q torch==2.13.0" in line)
        install = "-c requirements/ci-constraints.txt -e '.[dev,local]'"
        project = next(i for i, line in enumerate(lines) if install in line)
        assert torch < project, "torch's CPU build must be installed before the project"
        assert all(line.startswith((f"{venv}/bin/", "test -x", "touch")) for line in lines[project + 1:])
    assert _dry_run("example", venv)[-2:] == [
        f"{venv}/bin/python -m pytest example_suite --llmops-report=example-report.json",
        f"{venv}/bin/pytest-llmops validate example-report.json",
    ]
    assert _dry_run("test", venv)[-3:] == [
        f"{venv}/bin/lint-imports", f"{venv}/bin/ruff check pytest_llmops", f"{venv}/bin/python -m pytest -n 2 tests",
    ]


def test_make_honours_the_ci_venv_variable(tmp_path: Path) -> None:
    out = subprocess.run(["make", "-n", "-B", "test", f"LLMOPS_CI_VENV={tmp_path}/ci"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert f"python3 -m venv {tmp_path}/ci" in out


def test_make_exports_the_offline_environment() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    for name, value in (("LITELLM_LOCAL_MODEL_COST_MAP", "True"), ("HF_HUB_OFFLINE", "1"),
                        ("TRANSFORMERS_OFFLINE", "1")):
        assert re.search(rf"^export {name} :?= {value}$", text, re.M), name


def test_license_is_an_spdx_expression_without_a_classifier() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
