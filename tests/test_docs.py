"""The README's configuration reference is generated from the option table; it must not drift."""

from pathlib import Path

from pytest_llmops.plugin.docs import BEGIN, END, config_reference
from pytest_llmops.plugin.options import OPTIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_config_reference_is_current() -> None:
    text = README.read_text(encoding="utf-8")
    block = text[text.index(BEGIN): text.index(END) + len(END)]
    assert block == config_reference(), "run: python -m pytest_llmops.plugin.docs, and paste it into README.md"


def test_every_option_is_documented_once() -> None:
    text = README.read_text(encoding="utf-8")
    for opt in OPTIONS:
        for name in filter(None, (opt.flag, opt.ini)):
            assert f"`{name}" in text, name
