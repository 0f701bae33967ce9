"""What a loopback server is told (latency, faults, queued answers) and what it has received."""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Sequence

from .faults import check_kinds
from .responses import default_responder

Responder = Callable[[dict], "str | dict"]


class ServerState:
    """The scriptable side of :class:`~pytest_llmops.testing.loopback.LoopbackServer`, shared by handler threads."""

    def __init__(
        self,
        *,
        latency_s: float,
        responder: Responder | None,
        fault_rate: float,
        fault_kinds: Sequence[str],
        seed: int,
        retry_after_s: float,
        hang_s: float,
        model_name: str,
    ) -> None:
        self.latency_s = float(latency_s)
        self.responder = responder
        self.fault_rate = float(fault_rate)
        self.fault_kinds = check_kinds(fault_kinds)
        self.seed = seed
        self.retry_after_s = float(retry_after_s)
        self.hang_s = float(hang_s)
        self.model_name = model_name
        self.requests: list[dict] = []
        self.base_url = ""
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._counter = 0
        self._faults: deque[str] = deque()
        self._responses: deque[str | dict] = deque()
        self._stopping = threading.Event()

    # -- scripting -------------------------------------------------------------------------------
    def queue_fault(self, kind: str, count: int = 1) -> None:
        """Serve ``kind`` to the next ``count`` model requests, before any random fault."""
        check_kinds([kind])
        with self._lock:
            self._faults.extend([kind] * count)

    def queue_response(self, content: str | dict) -> None:
        """Answer the next model request with ``content`` (FIFO), before the responder."""
        with self._lock:
            self._responses.append(content)

    def apply_control(self, command: dict) -> dict:
        """Apply a ``/__control`` command; keys (all optional): ``latency_s``, ``fault_rate``,
        ``fault_kinds``, ``retry_after_s``, ``hang_s``, ``queue_fault`` ({"kind", "count"} or a list of
        them), ``queue_response`` (a list of answers), ``clear_queues`` and ``clear_requests`` (bools).
        Returns the resulting settings."""
        if "fault_kinds" in command:
            self.fault_kinds = check_kinds(command["fault_kinds"])
        for key in ("latency_s", "fault_rate", "retry_after_s", "hang_s"):
            if key in command:
                setattr(self, key, float(command[key]))
        if command.get("clear_queues"):
            with self._lock:
                self._faults.clear()
                self._responses.clear()
        if command.get("clear_requests"):
            with self._lock:
                self.requests.clear()
        faults = command.get("queue_fault") or []
        for fault in [faults] if isinstance(faults, dict) else faults:
            self.queue_fault(fault["kind"], int(fault.get("count", 1)))
        for answer in command.get("queue_response") or []:
            self.queue_response(answer)
        return self.settings()

    def settings(self) -> dict:
        with self._lock:
            return {
                "base_url": self.base_url,
                "latency_s": self.latency_s,
                "fault_rate": self.fault_rate,
                "fault_kinds": list(self.fault_kinds),
                "retry_after_s": self.retry_after_s,
                "hang_s": self.hang_s,
                "queued_faults": list(self._faults),
                "queued_responses": len(self._responses),
                "request_count": len(self.requests),
            }

    # -- request handling (called from handler threads) ------------------------------------------
    def _record(self, method: str, path: str, headers: dict, body: dict) -> None:
        entry = dict(body)
        entry.update(path=path, method=method, headers=headers)
        with self._lock:
            self.requests.append(entry)

    def _requests_snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.requests)

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.fault_rate > 0 and self.fault_kinds and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds)
        return None

    def _answer_for(self, body: dict) -> str | dict:
        with self._lock:
            self._counter += 1
            counter = self._counter
            queued = self._responses.popleft() if self._responses else None
        if queued is not None:
            return queued
        if self.responder is not None:
            return self.responder(body)
        return default_responder(body, counter=counter, seed=self.seed)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)
