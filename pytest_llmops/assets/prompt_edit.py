"""In-place edits of a prompt file: set ``current:`` and append a ``promotions:`` entry, nothing else.

ruamel.yaml's round-trip parser locates the ``current`` value, the ``versions`` key and the ``promotions``
list; only those lines are touched (the ``current:`` line, or one inserted line, and the appended entry), so
every other byte of the file — comments, quoting, indentation, blank lines — stays as it was.  The new text
is parsed again and compared with the expected data before anything is returned: a layout this editor cannot
handle raises :class:`~pytest_llmops.errors.PromptError` and the file is never written.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..errors import PromptError

HISTORY_KEY = "promotions"
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


def _round_trip(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise PromptError(f"cannot edit the prompt file: invalid YAML ({exc})") from None


def _plain(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def scalar_text(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string (plain when safe, else single-quoted)."""
    if _PLAIN_SAFE.match(value) and _plain(value) == value:
        return value
    return "'" + value.replace("'", "''") + "'"


def _token_end(line: str, col: int) -> int:
    """End column of the scalar starting at ``col`` (quoted or plain, before a ``#`` comment)."""
    quote = line[col:col + 1]
    if quote == "'":
        i = col + 1
        while i < len(line):
            if line[i] == "'":
                if line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        raise PromptError("cannot edit the prompt file: the 'current:' value spans several lines")
    if quote == '"':
        match = re.compile(r'"(?:[^"\\]|\\.)*"').match(line, col)
        if match is None:
            raise PromptError("cannot edit the prompt file: the 'current:' value spans several lines")
        return match.end()
    comment = re.search(r"\s#", line[col:])
    end = col + comment.start() if comment else len(line)
    return len(line[:end].rstrip())


def _set_current(lines: list[str], doc: Any, version: str) -> None:
    """Rewrite the ``current:`` value in place, or insert a ``current:`` line before ``versions:``."""
    if "current" in doc:
        line_no, col = doc.lc.value("current")
        line = lines[line_no]
        end = _token_end(line, col)
        quoted = line[col:col + 1] in ("'", '"')
        new = scalar_text(version)
        if quoted and not new.startswith("'"):
            new = "'" + version + "'" if line[col] == "'" else '"' + version + '"'
        lines[line_no] = line[:col] + new + line[end:]
        return
    line_no, col = doc.lc.key("versions")
    newline = "\r\n" if lines[line_no].endswith("\r\n") else "\n"
    lines.insert(line_no, " " * col + f"current: {scalar_text(version)}" + newline)


def _entry_lines(entry: dict[str, Any], indent: str, newline: str) -> list[str]:
    import yaml

    dumped = yaml.safe_dump([entry], default_flow_style=False, sort_keys=False, allow_unicode=True, width=4096)
    return [indent + line + newline for line in dumped.splitlines()]


def _block_end(lines: list[str], start: int) -> int:
    """Index after the last content line of the top-level key at line ``start`` (trailing comments excluded)."""
    last = start
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if lines[index][0] not in " \t-" or stripped in ("---", "..."):
            break
        last = index
    return last + 1


def _append_entry(lines: list[str], doc: Any, entry: dict[str, Any]) -> None:
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    history = doc.get(HISTORY_KEY)
    if HISTORY_KEY not in doc or not history:
        if HISTORY_KEY in doc:  # `promotions:` empty or `[]`: that line is replaced
            key_line = doc.lc.key(HISTORY_KEY)[0]
            del lines[key_line:_block_end(lines, key_line)]
            at = key_line
        else:
            at = len(lines)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += newline
        lines[at:at] = [f"{HISTORY_KEY}:{newline}", *_entry_lines(entry, "  ", newline)]
        return
    from ruamel.yaml.comments import CommentedSeq

    if not isinstance(history, CommentedSeq) or history.fa.flow_style():
        raise PromptError(
            f"cannot append to '{HISTORY_KEY}:': write it as a block list (one '- ' item per entry), not a flow list"
        )
    first_line = lines[history.lc.item(0)[0]]
    indent = re.match(r"[ \t]*", first_line).group(0)  # type: ignore[union-attr]
    key_line = doc.lc.key(HISTORY_KEY)[0]
    end = _block_end(lines, key_line)
    if not lines[end - 1].endswith("\n"):
        lines[end - 1] += newline
    lines[end:end] = _entry_lines(entry, indent, newline)


def edit_prompt_text(text: str, current: str, entry: dict[str, Any]) -> str:
    """The prompt file ``text`` with ``current: <current>`` and ``entry`` appended to its promotion history."""
    doc = _round_trip(text)
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(doc, CommentedMap) or doc.fa.flow_style() or "versions" not in doc:
        raise PromptError("cannot edit the prompt file in place: it must be a block mapping with 'versions:'")
    lines = text.splitlines(keepends=True)
    _set_current(lines, doc, current)
    doc = _round_trip("".join(lines))  # positions after a possible inserted line
    _append_entry(lines, doc, entry)
    new_text = "".join(lines)
    expected = copy.deepcopy(_plain(text))
    expected["current"] = current
    expected[HISTORY_KEY] = [*(expected.get(HISTORY_KEY) or []), entry]
    if _plain(new_text) != expected:
        raise PromptError(  # an editor bug or a layout it does not handle; nothing has been written
            "cannot edit the prompt file in place (unusual layout); set 'current:' by hand and run promote again"
        )
    return new_text
