"""Issue 18: the user's path.  Build the wheel and sdist, check them with twine, install the wheel (not editable)
into a fresh virtualenv and run a small user project through it: catches missing package data, entry points and
extras that an editable install hides."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

USER_TEST = '''
import pytest
from pytest_llmops import similarity

@pytest.mark.golden("goldens/faq.jsonl")
@pytest.mark.prompt("greet")
@pytest.mark.budget(usd=0.01)
def test_faq(golden_case, prompt, llm, llmops):
    reply = llm.complete(prompt.render(question=golden_case.input))
    llmops.metric("similarity", similarity(reply.text, golden_case.expected), min=0.0)
'''


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", out, ROOT, cwd=ROOT, timeout=600)
    return out


def _fresh_venv(where: Path) -> Path:
    """A new virtualenv that sees the already-installed dependencies (like --system-site-packages, layered on
    this environment's site-packages) but not this checkout: the plugin itself must come from the wheel."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", where], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "_llmops_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"], files
    out = _run(sys.executable, "-m", "twine", "check", "--strict", *files, cwd=dist)
    assert out.count("PASSED") == 2, out
    with zipfile.ZipFile(next(dist.glob("*.whl"))) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = wheel.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "License-Expression: MIT" in metadata and "Classifier: License" not in metadata
    for extra in ("embeddings", "html", "local"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "llmops = pytest_llmops.plugin" in entry_points and "pytest-llmops = pytest_llmops.cli:main" in entry_points
    for data in ("pytest_llmops/py.typed", "pytest_llmops/schema/run-record.schema.json",
                 "pytest_llmops/templates/judge_check.j2", "pytest_llmops/scaffold/templates/conftest.py.tmpl"):
        assert data in names, f"{data} missing from the wheel"


@pytest.mark.slow
def test_wheel_installs_and_runs_a_user_project(dist: Path, tmp_path: Path) -> None:
    from pytest_llmops.testing.loopback import LoopbackServer

    python = _fresh_venv(tmp_path / "venv")
    wheel = next(dist.glob("*.whl"))
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel,
         cwd=tmp_path)
    project = tmp_path / "project"
    (project / "prompts").mkdir(parents=True)
    (project / "goldens").mkdir()
    (project / "prompts" / "greet.yaml").write_text(textwrap.dedent("""
        name: greet
        versions:
          v1:
            model: openai/loopback-model
            params: {temperature: 0}
            messages:
              - {role: user, content: "{{ question }}"}
    """), encoding="utf-8")
    (project / "goldens" / "faq.jsonl").write_text(
        '{"id": "hello", "input": "hello", "expected": "hello there"}\n', encoding="utf-8")
    (project / "test_faq.py").write_text(USER_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env.update(OPENAI_API_KEY="sk-loopback", PYTHONDONTWRITEBYTECODE="1")
    with LoopbackServer() as server:
        (project / "pytest.ini").write_text(
            f"[pytest]\nllmops_api_base = {server.base_url}\nllmops_embedder = lexical\n"
            "llmops_prices = openai/loopback-model = 0.1 0.2\n", encoding="utf-8")
        where = _run(python, "-c", "import pytest_llmops; print(pytest_llmops.__file__)", cwd=project, env=env)
        assert str(tmp_path / "venv") in where, f"pytest_llmops was not imported from the wheel: {where}"
        _run(python, "-m", "pytest", "-q", "--llmops-record-mode=once", "--llmops-report=r.json", cwd=project,
             env=env)
    # offline now: replayed from the recording the first run wrote, and the CLI entry point works
    out = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env)
    assert "1 passed" in out
    assert "valid:" in _run(tmp_path / "venv" / "bin" / "pytest-llmops", "validate", "r.json", cwd=project, env=env)
