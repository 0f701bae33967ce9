"""``--llmops-redact-pii``: redact PII in the text a test record stores (prompts, outputs, notes)."""

from __future__ import annotations

from typing import Any


def redact_value(value: Any) -> Any:
    from ..common.pii import redact_pii

    if isinstance(value, str):
        return redact_pii(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in ("key", "model", "kind", "hash") else redact_value(v)) for k, v in value.items()}
    return value


def redact_record_text(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for field in ("notes", "artifacts", "calls"):
        if out.get(field):
            out[field] = redact_value(out[field])
    return out
