"""pytest glue for replay-key normalizers: ini ``llmops_normalize`` lines and ``@pytest.mark.llmops_normalize``."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from ..calls.normalize import NO_NORMALIZER, Normalizer, parse_rule
from ..errors import ConfigError
from .state import RunState


def _hook_from_ini(spec: str) -> Any:
    """``module:function`` → the function (ConfigError naming the ini key when it cannot be imported)."""
    module_name, _, attr = spec.strip().partition(":")
    try:
        hook = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"ini key llmops_normalize: cannot import hook {spec.strip()!r} ({exc})") from None
    if not callable(hook):
        raise ConfigError(f"ini key llmops_normalize: {spec.strip()!r} is not callable")
    return hook


def _ini(state: RunState) -> tuple[list[tuple[str, str, str]], list[Any]]:
    lines = state.option("normalize") or []
    if isinstance(lines, str):
        lines = lines.splitlines()
    rules, hooks = [], []
    for line in lines:
        line = str(line).strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("hook:"):
            hooks.append(_hook_from_ini(line[5:]))
        else:
            rules.append((*parse_rule(line), "ini key llmops_normalize"))
    return rules, hooks


def check_marker(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """``llmops_normalize(pattern, placeholder)`` or ``llmops_normalize(hook=callable)``."""
    hook = kwargs.get("hook")
    if hook is not None:
        if args or not callable(hook):
            raise ConfigError("@pytest.mark.llmops_normalize(hook=...) takes one callable and no pattern")
        return
    if len(args) != 2 or not all(isinstance(a, str) for a in args):
        raise ConfigError("@pytest.mark.llmops_normalize takes (pattern, placeholder) strings or hook=callable")
    Normalizer.build([(args[0], args[1], "@pytest.mark.llmops_normalize")])


def normalizer_for(state: RunState, item: pytest.Item) -> Normalizer:
    """The ini rules and hooks, then the test's markers (closest last), as one normalizer."""
    rules, hooks = _ini(state)
    for mark in reversed(list(item.iter_markers("llmops_normalize"))):
        if mark.kwargs.get("hook") is not None:
            hooks.append(mark.kwargs["hook"])
        elif len(mark.args) == 2:
            rules.append((str(mark.args[0]), str(mark.args[1]), "@pytest.mark.llmops_normalize"))
    if not rules and not hooks:
        return NO_NORMALIZER
    return Normalizer.build(rules, hooks)
