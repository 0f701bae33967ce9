"""An OpenAI-compatible model server on 127.0.0.1 for tests, demos and chaos runs (stdlib only).

:class:`LoopbackServer` answers ``/v1/chat/completions`` (plain and ``stream: true``), ``/v1/completions``,
``/v1/responses`` (OpenAI Responses API) and ``/v1/messages`` (Anthropic Messages API), both also streamed,
``/v1/embeddings`` and ``/v1/models`` with real OpenAI-shaped JSON, so litellm / the ``openai`` client talk
to it exactly as to a provider.  It can be slowed down (``latency_s``), scripted (:meth:`queue_response`,
:meth:`queue_fault`) and made unreliable (``fault_rate``) with the faults a real provider shows:

====================  =============================================================================
fault kind            what the client sees
====================  =============================================================================
``429``               HTTP 429, ``Retry-After: <retry_after_s>`` header, OpenAI ``rate_limit_exceeded`` body
``500`` / ``503``     HTTP 500 / 503 with an OpenAI ``server_error`` body
``401``               HTTP 401 ``invalid_api_key`` body (never worth retrying)
``400``               HTTP 400 ``invalid_request_error`` body (never worth retrying)
``hang``              nothing for ``hang_s`` seconds, then a normal answer (client timeouts must fire)
``malformed``         HTTP 200 whose JSON body is cut in half (a streamed request: its first event is)
``drop``              the connection is closed without any response
====================  =============================================================================

Responses: a responder (or a queued answer) returns either a ``str`` (the assistant text) or a ``dict``:
a dict with a ``"choices"`` key is sent as the whole response body; a dict with a ``"content"`` or
``"tool_calls"`` key is the assistant message; any other dict is sent as its JSON text (handy for judges:
``queue_response({"score": 4, "reason": "..."})``).

Every request is kept in :attr:`LoopbackServer.requests` as the parsed JSON body plus the keys ``path``,
``method`` and ``headers`` (names lower-case).

Other processes steer a running server with ``POST /__control`` (see :meth:`LoopbackServer.apply_control`)
and read what it received with ``GET /__requests``.  Command line (prints the base URL as its first line)::

    python -m pytest_llmops.testing.loopback --port 0 --latency 0.3 --fault-rate 0.1 --seed 1
"""

from __future__ import annotations

from .cli import main
from .faults import FAULT_KINDS
from .responses import count_tokens, default_responder
from .server import LoopbackServer
from .state import Responder

__all__ = ["FAULT_KINDS", "LoopbackServer", "Responder", "count_tokens", "default_responder", "main"]
