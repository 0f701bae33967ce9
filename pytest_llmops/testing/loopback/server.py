"""The loopback server itself: :class:`LoopbackServer` listening on 127.0.0.1 in a background thread."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from typing import Any

from .handler import Handler
from .state import Responder, ServerState


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of concurrent clients would see refused
    # connections (and retry), which is not the server a concurrency test means to model
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, drops) are normal here; anything else is still printed."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer(ServerState):
    """A local OpenAI-compatible server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        responder: Responder | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = ("429", "500", "hang", "malformed"),
        seed: int = 0,
        retry_after_s: float = 0.2,
        hang_s: float = 30.0,
        model_name: str = "loopback-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not host.startswith("127.") and host != "localhost":
            raise ValueError(f"LoopbackServer only listens on loopback addresses, not {host!r}")
        super().__init__(
            latency_s=latency_s, responder=responder, fault_rate=fault_rate, fault_kinds=fault_kinds, seed=seed,
            retry_after_s=retry_after_s, hang_s=hang_s, model_name=model_name,
        )
        self.host = host
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (Handler,), {"server_state": self})
        httpd = _QuietHTTPServer((self.host, self.port), handler)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}/v1"
        self._stopping.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="loopback-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes sleeping "hang" and latency handlers
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the calling thread until :meth:`stop` (from a signal handler or another thread)."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.2)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
