"""Classify an incoming support ticket with the model (JSON mode) and validate the result."""

from __future__ import annotations

import json
from typing import Any

from . import guardrails, llm
from .assistant import prompt_registry

CATEGORIES = {  # name -> hint shown to the model
    "account": "sign-in, password, 2FA, SSO",
    "billing": "plans, payments, refunds, invoices, seats",
    "data": "export, import, trash, storage, lost notes",
    "sync": "sync, offline, conflicts",
    "apps": "desktop, mobile, web clipper, crashes",
    "api": "API tokens, rate limits, webhooks",
    "integrations": "Slack, Google Drive, GitHub, Zapier",
    "security": "vulnerabilities, suspicious access",
    "privacy": "GDPR, data requests, account deletion",
    "other": "anything else",
}
PRIORITIES = ["low", "normal", "high", "urgent"]

TRIAGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Lumen ticket triage",
    "type": "object",
    "required": ["category", "priority", "needs_human", "summary"],
    "additionalProperties": False,
    "properties": {
        "category": {"enum": list(CATEGORIES)},
        "priority": {"enum": PRIORITIES},
        "needs_human": {"type": "boolean"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (models like to wrap JSON in prose or code fences), or ``None``."""
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char == "{":
            try:
                value, _ = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def parse_triage(raw: str) -> dict[str, Any]:
    """Validated triage fields, or ``{"error": ..., "detail": ..., "raw": ...}`` — never raises."""
    import jsonschema

    data = extract_json_object(raw)
    if data is None:
        return {"error": "invalid_json", "detail": "no JSON object in the model output", "raw": raw}
    data = {key: value.strip().lower() if key in ("category", "priority") and isinstance(value, str) else value
            for key, value in data.items()}
    errors = sorted(jsonschema.Draft202012Validator(TRIAGE_SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        detail = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors)
        return {"error": "schema_violation", "detail": detail, "raw": raw}
    return data


def triage(message: str, *, prompt_version: str | None = None, model: str | None = None) -> dict[str, Any]:
    """Category, priority, needs_human and a one-line summary for a customer message."""
    prompt = prompt_registry().get("triage", prompt_version)
    text = guardrails.check_input(message).text
    messages = prompt.render(message=text, categories=CATEGORIES, priorities=PRIORITIES)
    raw = llm.complete(
        messages,
        model=llm.resolve_model(model, prompt.model),
        response_format={"type": "json_object"},
        metadata={"prompt": {"name": prompt.name, "version": prompt.version, "hash": prompt.short_hash}},
        **prompt.params,
    )
    return parse_triage(raw)
