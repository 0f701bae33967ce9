"""Edits of the ``approved`` value of cases in YAML golden files: in place when possible, else a full re-dump."""

from __future__ import annotations

from typing import Any

from ..yaml_source import safe_loader_class
from .csv_reader import csv_physical_lines
from .edit_json import set_approved

_Edit = tuple[int, int, list[str]]  # (first line, end line, replacement lines)


def _yaml_dumper() -> type:
    import yaml

    class BlockStrDumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: Any, value: str) -> Any:
        if "\n" in value:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    BlockStrDumper.add_representer(str, represent_str)
    return BlockStrDumper


def _yaml_dump(value: Any, **kwargs: Any) -> str:
    import yaml

    kwargs.setdefault("width", 100)
    return yaml.dump(value, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True, **kwargs)


class _CannotEditInPlace(Exception):
    pass


def edit_yaml(text: str, updates: dict[str, Any]) -> str:
    """Re-emit only the ``approved`` entry of each updated case; re-dump the file when that is not possible."""
    try:
        return _edit_yaml_in_place(text, updates)
    except _CannotEditInPlace:
        return redump_yaml(text, updates)


def redump_yaml(text: str, updates: dict[str, Any]) -> str:
    """Last resort: re-dump the whole document (comments are lost, data and order are kept)."""
    import yaml

    data = yaml.load(text, Loader=safe_loader_class())
    cases = data["cases"] if isinstance(data, dict) else data
    for index, case in enumerate(cases):
        if isinstance(case, dict) and case.get("id") in updates:
            cases[index] = set_approved(case, updates[case["id"]])
    dumped = _yaml_dump(data, default_flow_style=False)
    newline = "\r\n" if "\r\n" in text else "\n"
    return dumped.replace("\n", newline)


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], first: int, column: int, dash_continues: bool) -> int:
    """Index after the last line of the block that starts on line ``first`` with its key at ``column``.

    Lines indented deeper than ``column`` belong to the block (and, when ``dash_continues``, ``- `` items at
    ``column`` too: YAML lets a block sequence sit at its key's indent); trailing blank and comment lines
    are left to what follows.
    """
    end = first + 1
    while end < len(lines):
        line = lines[end]
        if not _is_blank_or_comment(line):
            indent = _indent_of(line)
            continues = indent > column or (dash_continues and indent == column and line[indent:].startswith("-"))
            if not continues or (indent == 0 and line.startswith(("---", "..."))):
                break
        end += 1
    while end - 1 > first and _is_blank_or_comment(lines[end - 1]):
        end -= 1
    return end


def _case_nodes(text: str) -> tuple[Any, list[Any]]:
    """The YAML node of the block sequence of cases and the cases' data; _CannotEditInPlace if not block style."""
    import yaml

    loader = safe_loader_class()(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root)
    finally:
        loader.dispose()
    seq = root
    if isinstance(root, yaml.MappingNode):
        seq = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cases"), None)
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        raise _CannotEditInPlace
    return seq, data["cases"] if isinstance(data, dict) else data


def _flow_case_edit(node: Any, case: dict[str, Any], value: Any, lines: list[str]) -> _Edit:
    """`- {id: a, input: x}` on one line: re-emit that one mapping in flow style."""
    if node.start_mark.line != node.end_mark.line:
        raise _CannotEditInPlace
    line_no = node.start_mark.line
    line = lines[line_no]
    flow = _yaml_dump(set_approved(case, value), default_flow_style=True, width=10**9).rstrip("\n")
    return line_no, line_no + 1, [line[: node.start_mark.column] + flow + line[node.end_mark.column :]]


def _block_case_edit(node: Any, value: Any, lines: list[str], newline: str) -> _Edit:
    """Replace the case's ``approved`` entry, or append one after its last entry (may end ``lines[-1]``)."""
    import yaml

    column = node.start_mark.column
    entry = [
        " " * column + text_line + newline
        for text_line in _yaml_dump({"approved": value}, default_flow_style=False).rstrip("\n").split("\n")
    ]
    existing = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "approved"]
    if existing:
        key_node, value_node = existing[-1]
        if key_node.start_mark.column != column:
            raise _CannotEditInPlace
        first = key_node.start_mark.line
        end = _block_end(lines, first, column, isinstance(value_node, yaml.SequenceNode))
    else:
        last_key, last_value = node.value[-1]
        first = _block_end(lines, last_key.start_mark.line, column, isinstance(last_value, yaml.SequenceNode))
        end = first
    if end == len(lines) and not lines[-1].endswith(("\n", "\r")):  # no newline at end of file
        if not existing:
            lines[-1] += newline
        entry[-1] = entry[-1].rstrip("\r\n")
    return first, end, entry


def _edit_yaml_in_place(text: str, updates: dict[str, Any]) -> str:
    """Replace or append only the ``approved`` entry of each updated case; everything else is kept."""
    import yaml

    seq, cases = _case_nodes(text)
    lines = csv_physical_lines(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    edits: list[_Edit] = []
    for node, case in zip(seq.value, cases, strict=False):
        if not (isinstance(case, dict) and case.get("id") in updates):
            continue
        value = updates[case["id"]]
        if not isinstance(node, yaml.MappingNode):
            raise _CannotEditInPlace
        if node.flow_style:
            edits.append(_flow_case_edit(node, case, value, lines))
        else:
            edits.append(_block_case_edit(node, value, lines, newline))
    for first, end, new_lines in sorted(edits, reverse=True):
        lines[first:end] = new_lines
    return "".join(lines)
