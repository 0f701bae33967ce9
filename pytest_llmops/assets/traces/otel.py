"""OpenTelemetry span files read into plain spans: OTLP JSON and the SDK's ``span.to_json()`` form.

Accepted files hold one JSON value after another (one document, JSON lines, or pretty-printed objects back
to back, as ``ConsoleSpanExporter`` writes them), each being

* an OTLP JSON export (``{"resourceSpans": [...]}``, as the Collector's file exporter writes), ids as hex or
  base64, attribute values as OTLP ``AnyValue``;
* one span as the Python SDK's ``ReadableSpan.to_json()`` writes it (``context.trace_id`` ``0x...``, ISO
  times, attributes a plain mapping);
* a list of either.

Every span becomes a :class:`Span` with hex ids, UTC datetimes and plain attribute values.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...errors import GoldenError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start: datetime | None
    end: datetime | None
    attributes: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)  # {"name", "time", "attributes"}
    resource: dict[str, Any] = field(default_factory=dict)


def json_values(text: str, origin: str) -> list[Any]:
    """Every JSON value in ``text``, one after another (JSON lines, concatenated or single documents)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    index, length = 0, len(text)
    while True:
        while index < length and text[index] in " \t\r\n":
            index += 1
        if index >= length:
            return values
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise GoldenError(f"{origin}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg})") from None
        values.append(value)


def _hex_id(value: Any) -> str:
    """An OTLP id as lower-case hex: ``0x``-prefixed or plain hex kept, base64 (protobuf JSON) decoded."""
    text = str(value or "")
    if text.startswith("0x"):
        return text[2:].lower()
    if len(text) in (16, 32) and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain value."""
    if not isinstance(value, dict):
        return value
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return int(value["intValue"])
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return key_values((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def key_values(items: Any) -> dict[str, Any]:
    return {str(kv.get("key")): any_value(kv.get("value")) for kv in items or [] if isinstance(kv, dict)}


def _nanos(value: Any) -> datetime | None:
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(nanos / 1e9, tz=timezone.utc) if nanos else None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` allowed) or epoch seconds as an aware UTC datetime; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1e9 if value > 1e14 else value, tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """``2026-12-01T08:00:00.123456Z`` for an aware datetime (None stays None)."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def _otlp_spans(doc: dict[str, Any]) -> list[Span]:
    spans: list[Span] = []
    for resource_spans in doc.get("resourceSpans") or []:
        resource = key_values((resource_spans.get("resource") or {}).get("attributes"))
        scopes = resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []
        for scope in scopes:
            for raw in scope.get("spans") or []:
                events = [{"name": e.get("name"), "time": _nanos(e.get("timeUnixNano")),
                           "attributes": key_values(e.get("attributes"))} for e in raw.get("events") or []]
                spans.append(Span(
                    _hex_id(raw.get("traceId")), _hex_id(raw.get("spanId")),
                    _hex_id(raw["parentSpanId"]) if raw.get("parentSpanId") else None, str(raw.get("name", "")),
                    _nanos(raw.get("startTimeUnixNano")), _nanos(raw.get("endTimeUnixNano")),
                    key_values(raw.get("attributes")), events, resource,
                ))
    return spans


def _sdk_span(raw: dict[str, Any]) -> Span:
    context = raw.get("context") or {}
    events = [{"name": e.get("name"), "time": parse_time(e.get("timestamp")), "attributes": e.get("attributes") or {}}
              for e in raw.get("events") or []]
    return Span(
        _hex_id(context.get("trace_id")), _hex_id(context.get("span_id")),
        _hex_id(raw["parent_id"]) if raw.get("parent_id") else None, str(raw.get("name", "")),
        parse_time(raw.get("start_time")), parse_time(raw.get("end_time")), dict(raw.get("attributes") or {}),
        events, dict((raw.get("resource") or {}).get("attributes") or {}),
    )


def spans_of(value: Any, origin: str) -> list[Span]:
    """The spans in one JSON value of a span file."""
    if isinstance(value, list):
        return [span for item in value for span in spans_of(item, origin)]
    if isinstance(value, dict) and "resourceSpans" in value:
        return _otlp_spans(value)
    if isinstance(value, dict) and isinstance(value.get("context"), dict):
        return [_sdk_span(value)]
    raise GoldenError(
        f"{origin}: not an OpenTelemetry span export (expected OTLP JSON with 'resourceSpans', or spans as the "
        "SDK's span.to_json() writes them)"
    )


def read_spans(path: Path) -> list[Span]:
    """Every span in an OTLP JSON / span JSON lines file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldenError(f"cannot read {path}: {exc}") from None
    return [span for value in json_values(text, str(path)) for span in spans_of(value, str(path))]
