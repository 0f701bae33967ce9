"""Generate the README's configuration reference from the option table (a test keeps them in sync).

    python -m pytest_llmops.plugin.docs            # print the markdown table
"""

from __future__ import annotations

from .markers import MARKERS
from .options import OPTIONS

BEGIN = "<!-- BEGIN GENERATED CONFIG REFERENCE (python -m pytest_llmops.plugin.docs) -->"
END = "<!-- END GENERATED CONFIG REFERENCE -->"


def config_reference() -> str:
    lines = ["| command line | ini key | default | what it does |", "|---|---|---|---|"]
    for opt in OPTIONS:
        flag = f"`{opt.flag}{'' if opt.is_flag else '=' + (opt.metavar or 'VALUE')}`" if opt.flag else "—"
        ini = f"`{opt.ini}`" if opt.ini else "—"
        default = "—" if opt.default in (None, (), False) else f"`{opt.default}`"
        lines.append(f"| {flag} | {ini} | {default} | {opt.help} |")
    lines += ["", "| marker | usage |", "|---|---|"]
    for name, usage in MARKERS.items():
        signature, _, text = usage.partition(":")
        lines.append(f"| `{name}` | `@pytest.mark.{signature}`: {text.strip()} |")
    return "\n".join([BEGIN, *lines, END])


if __name__ == "__main__":
    print(config_reference())
