"""Replay-key normalizers: volatile parts of a request (today's date, request ids) replaced before keying.

A :class:`Normalizer` holds regex rules (``pattern -> placeholder``, applied to every string of the request's
payload and answer-determining params) and callables (``hook(request) -> request`` for the rare complex case,
where ``request`` is ``{"kind", "model", "messages"|"input"|"prompt", "params"[, "stream"]}``).  It is applied
the same way when recording and when replaying, so a prompt carrying ``2026-12-02`` today and ``2026-12-03``
tomorrow keys — and is stored — as ``<date>`` both days.  Only the key and the stored request are normalized;
the live request is sent unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

Hook = Callable[[dict[str, Any]], Any]


def parse_rule(line: str) -> tuple[str, str]:
    """``PATTERN => PLACEHOLDER`` (one ini line) → ``(pattern, placeholder)``."""
    pattern, sep, placeholder = str(line).rpartition("=>")
    if not sep or not pattern.strip():
        raise ConfigError(f"ini key llmops_normalize: {line!r}; expected 'REGEX => PLACEHOLDER'")
    return pattern.strip(), placeholder.strip()


def compile_rule(pattern: str, placeholder: str, where: str) -> tuple[re.Pattern[str], str]:
    try:
        return re.compile(pattern), placeholder
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class Normalizer:
    """Regex rules and hooks applied to a request identity before it is keyed."""

    rules: tuple[tuple[re.Pattern[str], str], ...] = ()
    hooks: tuple[Hook, ...] = field(default_factory=tuple)

    @classmethod
    def build(cls, rules: Iterable[tuple[str, str, str]] = (), hooks: Iterable[Hook] = ()) -> Normalizer:
        """``rules``: ``(pattern, placeholder, where it was declared)``; ConfigError on a bad pattern."""
        compiled = tuple(compile_rule(pattern, placeholder, where) for pattern, placeholder, where in rules)
        return cls(compiled, tuple(hooks))

    def __bool__(self) -> bool:
        return bool(self.rules or self.hooks)

    def describe(self) -> list[str]:
        """One line per rule and hook, for the missing-recording message."""
        lines = [f"{rx.pattern!r} → {placeholder!r}" for rx, placeholder in self.rules]
        lines += [f"hook {getattr(hook, '__qualname__', repr(hook))}" for hook in self.hooks]
        return lines

    def text(self, value: str) -> str:
        for rx, placeholder in self.rules:
            value = rx.sub(placeholder, value)
        return value

    def _strings(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self._strings(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._strings(item) for item in value]
        return value

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        """The normalized copy of a request identity (``kind`` and ``model`` are left alone)."""
        if not self:
            return request
        out = {name: (value if name in ("kind", "model") else self._strings(value)) for name, value in request.items()}
        for hook in self.hooks:
            changed = hook(out)
            if changed is not None:
                if not isinstance(changed, dict):
                    raise ConfigError(f"normalizer hook {hook!r} returned {type(changed).__name__}, expected a dict")
                out = changed
        return out


NO_NORMALIZER = Normalizer()
