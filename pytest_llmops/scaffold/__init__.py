"""``pytest-llmops init``: scaffold a user project (prompt, golden set, conftest, first test, CI workflow)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import ConfigError

DEFAULT_MODEL = "openai/gpt-4o-mini"

#: file written into the project -> template shipped as package data (``scaffold/templates``)
FILES: dict[str, str] = {
    "prompts/answer.yaml": "answer.yaml.tmpl",
    "goldens/answer.jsonl": "answer.jsonl.tmpl",
    "conftest.py": "conftest.py.tmpl",
    "test_answer.py": "test_answer.py.tmpl",
    ".github/workflows/llm-tests.yml": "llm-tests.yml.tmpl",
}


def render(template: str, *, model: str) -> str:
    text = resources.files(__package__).joinpath("templates", template).read_text(encoding="utf-8")
    return text.replace("__MODEL__", model)


def scaffold(directory: Path | str, *, model: str = DEFAULT_MODEL) -> list[Path]:
    """Write the starter files into ``directory``; refuses (writing nothing) if any of them already exists."""
    root = Path(directory)
    if not model or any(c.isspace() for c in model):
        raise ConfigError(f"init: {model!r} is not a litellm model string (e.g. {DEFAULT_MODEL})")
    targets = [root / rel for rel in FILES]
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise ConfigError(f"init: refusing to overwrite {', '.join(existing)}; move them away or pick another DIR")
    for template, target in zip(FILES.values(), targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": never overwrite, even in a race
            handle.write(render(template, model=model))
    return targets


def next_steps(directory: Path | str) -> str:
    """What to run after ``init``: record once (live, needs a key), then replay offline forever."""
    where = "" if str(directory) in ("", ".") else f"cd {directory} && "
    return (
        "next steps:\n"
        f"  1. record the model's answers once (live, needs your provider key, e.g. OPENAI_API_KEY):\n"
        f"       {where}pytest --llmops-record-mode=once\n"
        f"  2. commit prompts/, goldens/, recordings/; from now on `pytest` replays them offline, free\n"
        f"  3. after a prompt change: pytest --llmops-plan (what it would cost), then re-record"
    )
