"""Safe YAML loading that remembers where every value came from.

Prompt files and golden sets are user-written YAML.  :func:`load_yaml_with_lines` loads them with PyYAML's
*safe* loader only (``!!python/...`` tags are refused with a readable message), refuses duplicate mapping
keys (PyYAML would silently keep the last one), and returns, next to the data, a map from a dotted path
(``versions.v2.messages[1].role``) to the 1-based ``(line, column)`` where that value starts, so that schema
errors found later can point at ``file:line``.

``yaml`` is imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class YamlSourceError(ValueError):
    """A YAML document that cannot be loaded; ``line``/``column`` are 1-based (0 when unknown)."""

    def __init__(self, problem: str, line: int = 0, column: int = 0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column

    def where(self, source: str) -> str:
        if self.line:
            return f"{source}:{self.line}:{self.column}"
        return source


@dataclass
class YamlDocument:
    data: Any
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)

    def line_of(self, path: str) -> int:
        """Line of ``path``, or of its nearest ancestor that has one (0 if none)."""
        probe = path
        while True:
            if probe in self.lines:
                return self.lines[probe][0]
            if not probe:
                return 0
            probe = parent_path(probe)


def join_path(parent: str, key: Any) -> str:
    """``join_path("versions", "v2") == "versions.v2"``; ints become ``[i]``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def parent_path(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rfind("[")]
    dot = path.rfind(".")
    return path[:dot] if dot >= 0 else ""


def format_loc(loc: tuple[Any, ...] | list[Any], prefix: str = "") -> str:
    """Render a pydantic-style ``loc`` tuple as a dotted path (``messages[1].role``)."""
    path = prefix
    for part in loc:
        path = join_path(path, part)
    return path


def _explain(exc: Exception) -> str:
    text = str(exc)
    if "python/" in text and ("constructor" in text or "tag" in text):
        return (
            "Python object tags (!!python/...) are refused: files are loaded with yaml.safe_load for safety; "
            "write plain YAML data (strings, numbers, lists, mappings) instead"
        )
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        return f"{context + ': ' if context else ''}{problem}"
    return text.splitlines()[0] if text else type(exc).__name__


def safe_loader_class() -> Any:
    """libyaml's ``CSafeLoader`` when PyYAML was built with it (several times faster), else ``SafeLoader``."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_with_lines(text: str) -> YamlDocument:
    """Safe-load one YAML document and map every value's path to its ``(line, column)``.

    Raises :class:`YamlSourceError` (with position) for syntax errors, refused tags, duplicate keys and
    multi-document streams.
    """
    import yaml

    loader = safe_loader_class()(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            mark = getattr(exc, "problem_mark", None)
            if "expected a single document" in str(exc):
                raise YamlSourceError(
                    "the file holds several YAML documents (---); put everything in one document",
                    mark.line + 1 if mark else 0,
                    mark.column + 1 if mark else 0,
                ) from None
            raise
        if node is None:
            return YamlDocument(None, {})
        lines: dict[str, tuple[int, int]] = {}
        _walk(node, "", lines, loader.construct_object, set())
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlSourceError(_explain(exc), mark.line + 1 if mark else 0, mark.column + 1 if mark else 0) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(_explain(exc)) from None
    except YamlSourceError:
        raise
    except RecursionError:
        raise YamlSourceError("the document is nested too deeply (hundreds of levels); flatten it") from None
    except (ValueError, OverflowError, TypeError) as exc:
        # PyYAML's safe constructors let a few plain-Python errors out: an out-of-range date such as
        # 2024-13-45, an integer of more than 4300 digits, an unhashable merged key
        raise YamlSourceError(
            f"a value cannot be read ({type(exc).__name__}: {exc}); quote it to keep it as text"
        ) from None
    finally:
        loader.dispose()
    return YamlDocument(data, lines)


def _walk(
    node: Any, path: str, lines: dict[str, tuple[int, int]], construct: Callable[..., Any], active: set[int]
) -> None:
    import yaml

    if id(node) in active:  # a recursive alias (&a [*a]); its positions are already known
        return
    lines.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk(value_node, path, lines, construct, active)
                continue
            if isinstance(key_node, yaml.ScalarNode):
                key = construct(key_node)
            else:
                key = f"<{key_node.tag}>"
            try:
                hash(key)
            except TypeError:
                key = repr(key)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YamlSourceError(
                    f"duplicate key {key!r} (first defined on line {seen[key]}); each key may appear only once",
                    line,
                    key_node.start_mark.column + 1,
                )
            seen[key] = line
            _walk(value_node, join_path(path, str(key)), lines, construct, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, join_path(path, index), lines, construct, active)
    active.discard(id(node))
