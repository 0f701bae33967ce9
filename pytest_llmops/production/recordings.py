"""The model calls of an imported conversation written as the recording of the test that replays it.

Entries are made exactly as a live call's recording is (``calls.keys`` for the replay key, ``calls.metering``
for the entry, ``calls.cassette`` for the file), so the test replays production's answers with no request:
the same request (model, messages, answer-determining params) gets the same key, and the n-th identical
request of the test its n-th occurrence.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..assets.traces.model import ModelCall
from ..calls import keys as _keys
from ..calls.cassette import Cassette, recording_path_for_test
from ..calls.metering import cassette_entry
from ..calls.pending import PendingCall


def cassette_path(test: str, case_id: str, rootdir: Path, recordings_dir: str | None = None) -> Path:
    """Where the plugin looks for the recording of ``test[case_id]`` (``path/to/test_x.py::[Class::]test_fn``).

    Mirrors ``plugin.calls.cassette_path``: ``<module dir>/recordings/<module stem>/<name>.json``, or
    ``<rootdir>/<recordings_dir>/<module path without suffix>/<name>.json`` with ``llmops_recordings_dir``.
    """
    module_part, _, rest = test.partition("::")
    parts = rest.split("::")
    return recording_path_for_test(rootdir / module_part, f"{parts[-1]}[{case_id}]",
                               parts[-2] if len(parts) > 1 else None, rootdir, recordings_dir)


def response_of(call: ModelCall) -> dict[str, Any]:
    """An OpenAI chat-completion response body for the production answer."""
    message = {"role": "assistant", **(call.output or {})}
    usage = call.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    created = int((call.started or datetime.now(timezone.utc)).timestamp())
    finish = call.finish_reason or ("tool_calls" if message.get("tool_calls") else "stop")
    return {
        "id": call.response_id or f"chatcmpl-imported-{call.span_id or created}", "object": "chat.completion",
        "created": created, "model": call.response_model or call.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}], "usage": usage,
    }


def entries_for(calls: list[ModelCall]) -> list[dict[str, Any]]:
    """Recording entries of the calls that have an answer, with occurrences counted like a test's calls."""
    occurrences: dict[str, int] = {}
    entries = []
    for call in calls:
        if call.output is None:
            continue
        model = f"{call.provider}/{call.model}"
        identity = _keys.request_identity("completion", model, call.messages, call.params)
        digest = _keys.identity_digest(identity)
        occurrence = occurrences.get(digest, 0)
        occurrences[digest] = occurrence + 1
        key = _keys.replay_key(identity, 0, occurrence)
        pending = PendingCall("completion", model, call.messages, call.params, key, 0, occurrence, None, "import",
                              identity, call.provider)
        response = response_of(call)
        entry = cassette_entry(pending, response, response["usage"], None, call.latency_s or 0.0, call.provider,
                               redact_pii=False)
        if call.started is not None:
            entry["recorded_at"] = call.started.replace(microsecond=0).isoformat()
        entries.append(entry)
    return entries


def write_recording(path: Path, nodeid: str, calls: list[ModelCall]) -> int:
    """Add the calls' entries to the recording at ``path`` (created if missing); returns how many were written."""
    cassette = Cassette.load(path, nodeid)
    entries = entries_for(calls)
    for entry in entries:
        cassette.put(entry)
    cassette.save()
    return len(entries)
