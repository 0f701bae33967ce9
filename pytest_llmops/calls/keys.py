"""Replay keys: which parts of a model request decide its answer.

A replay key is the sha256 of the canonical JSON of::

    {kind, model, payload (messages / input / prompt), the answer-determining params, sample, occurrence}

*Answer-determining* params are listed in :data:`KEY_PARAMS` (sampling settings, tools, response format, and the
``extra_body`` sent to the provider).  Everything else — credentials, endpoints, timeouts, retry counts, metadata,
headers, streaming options, ``mock_response`` — is ignored, so moving a recording between machines, keys and
proxies keeps it valid.  ``sample`` is the sampling-runner index and ``occurrence`` counts identical requests
within one sample of one test (the second identical call gets occurrence 1), so a test that asks the same
question twice replays two distinct answers.

Canonical JSON: ``sort_keys``, compact separators, ``ensure_ascii=False``; ``None``-valued params are dropped;
integral floats are written as integers (``temperature=1`` and ``temperature=1.0`` give the same key); pydantic
model classes (``response_format=MyModel``) are replaced by their JSON schema.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from ..common.canonical import canonical_json as _canonical_json

#: Request params that determine the answer and are therefore part of the replay key.
KEY_PARAMS: frozenset[str] = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "functions",
        "function_call",
        "reasoning_effort",
        "dimensions",  # embeddings
        "encoding_format",  # embeddings
        "suffix",  # text completion
        "echo",  # text completion
        "best_of",  # text completion
        "extra_body",
    }
)

#: Params that only make sense for chat/text completion; defaults holding them are not sent to embedding calls.
COMPLETION_ONLY_PARAMS: frozenset[str] = KEY_PARAMS - {"dimensions", "encoding_format", "extra_body"}

#: Never part of the key (documented for readers; anything not in KEY_PARAMS is ignored anyway).
IGNORED_PARAMS: frozenset[str] = frozenset(
    {
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "timeout",
        "request_timeout",
        "num_retries",
        "max_retries",
        "metadata",
        "headers",
        "extra_headers",
        "stream",
        "stream_options",
        "mock_response",
        "user",
        "organization",
    }
)

#: The request field that carries the prompt, per call kind (``responses``: the OpenAI Responses API,
#: ``messages``: the Anthropic Messages API, both captured at the HTTP layer).
PAYLOAD_FIELD: dict[str, str] = {
    "completion": "messages", "embedding": "input", "text_completion": "prompt", "responses": "input",
    "messages": "messages",
}

#: Answer-determining request fields that only some APIs have, per call kind (added to :data:`KEY_PARAMS`).
#: ``previous_response_id`` is left out on purpose: it is a fresh id on every live run.
KIND_KEY_PARAMS: dict[str, frozenset[str]] = {
    "responses": frozenset({"instructions", "text", "reasoning", "max_output_tokens", "truncation", "include"}),
    "messages": frozenset({"system", "stop_sequences", "top_k", "thinking"}),
}


def canonicalize(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with integral floats as ints and ``None`` dict values dropped."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): canonicalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [canonicalize(v) for v in value]
    if isinstance(value, type) and hasattr(value, "model_json_schema"):  # pydantic model class
        return {"pydantic_schema": canonicalize(value.model_json_schema())}
    if hasattr(value, "model_dump"):  # pydantic instance (e.g. a litellm Message)
        return canonicalize(value.model_dump(exclude_none=True))
    if hasattr(value, "tolist"):  # numpy scalars / arrays
        return canonicalize(value.tolist())
    return repr(value)


def key_params(params: dict[str, Any], kind: str = "completion") -> dict[str, Any]:
    """The answer-determining subset of ``params``, canonicalised (``None`` values dropped)."""
    wanted = KEY_PARAMS | KIND_KEY_PARAMS.get(kind, frozenset())
    return {
        name: canonicalize(params[name]) for name in sorted(params) if name in wanted and params[name] is not None
    }


def canonical_json(value: Any) -> str:
    return _canonical_json(canonicalize(value), allow_nan=False)


def request_identity(kind: str, model: str, payload: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Everything that identifies a request apart from sample and occurrence.

    A streamed request (``stream=True``) carries ``"stream": true``: its recording keeps the chunks, so it is
    a different recording from the same request answered in one piece (non-streamed keys are unchanged).
    """
    identity = {
        "kind": kind,
        "model": model,
        PAYLOAD_FIELD.get(kind, "payload"): canonicalize(payload),
        "params": key_params(params, kind),
    }
    if params.get("stream"):
        identity["stream"] = True
    return identity


def recorded_request(identity: dict[str, Any]) -> dict[str, Any]:
    """The ``request`` a recording stores: the identity without its kind."""
    return {name: value for name, value in identity.items() if name != "kind"}


def identity_digest(identity: dict[str, Any]) -> str:
    """Digest of a request identity; used to count occurrences of the same request."""
    return hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()


def replay_key(identity: dict[str, Any], sample: int, occurrence: int) -> str:
    """The replay key of one request at one sample index and occurrence."""
    body = dict(identity, sample=int(sample), occurrence=int(occurrence))
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
