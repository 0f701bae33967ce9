"""Run-wide state shared by every process of a test run (the xdist controller and its workers).

:class:`RunLedger` keeps, in one SQLite file:

* the money and tokens spent on live model calls, so the run-wide cost cap holds across workers;
* ``concurrency`` call slots, so at most that many live calls are in flight across *all* processes.

A slot row remembers its holder's pid; slots of processes that died holding them are reclaimed.  Every
write is a short ``BEGIN IMMEDIATE`` transaction on a WAL database with a busy timeout, and waiting for a
slot is bounded polling (sleeps of at most 50 ms; ``asyncio.sleep`` in :meth:`RunLedger.aslot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from ..errors import BudgetExceeded, ConfigError, InfrastructureError

__all__ = ["RunLedger"]

_BUSY_TIMEOUT_MS = 30_000
_POLL_MIN_S = 0.005
_POLL_MAX_S = 0.05

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    spent_usd REAL NOT NULL DEFAULT 0,
    live_calls INTEGER NOT NULL DEFAULT 0,
    unpriced_calls INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    cap_hit INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO spend (id) VALUES (1);
CREATE TABLE IF NOT EXISTS slots (
    idx INTEGER PRIMARY KEY,
    pid INTEGER,
    token TEXT,
    acquired REAL
);
"""


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLedger:
    """Cost cap and call-concurrency limit shared by all processes that open the same ``path``.

    ``max_cost_usd=None`` means no cap; ``concurrency=None`` makes :meth:`slot` a no-op.  Every process of
    a run must pass the same values (the plugin reads them from the same options).
    """

    def __init__(self, path: Path, *, max_cost_usd: float | None = None, concurrency: int | None = None,
                 slot_wait_timeout_s: float | None = 3600.0) -> None:
        if max_cost_usd is not None and not max_cost_usd >= 0:
            raise ConfigError(f"the run cost cap must be a number >= 0, got {max_cost_usd!r} "
                              "(--llmops-max-cost-usd / llmops_max_cost_usd)")
        if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                        or concurrency < 1):
            raise ConfigError(f"the live-call concurrency must be an integer >= 1, got {concurrency!r} "
                              "(--llmops-concurrency / llmops_concurrency)")
        self.path = Path(path)
        self.max_cost_usd = max_cost_usd
        self.concurrency = concurrency
        self.slot_wait_timeout_s = slot_wait_timeout_s
        self._local = threading.local()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self._transaction() as db:
            if concurrency is not None:
                db.executemany("INSERT OR IGNORE INTO slots (idx) VALUES (?)", [(i,) for i in range(concurrency)])

    # -- connections -----------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():  # fresh after fork
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's objects are collected)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- money -----------------------------------------------------------------------------------
    def check_can_spend(self) -> None:
        """Raise :class:`BudgetExceeded` when the run cost cap is already spent."""
        if self.max_cost_usd is None:
            return
        spent = self._connection().execute("SELECT spent_usd FROM spend WHERE id = 1").fetchone()[0]
        if spent >= self.max_cost_usd:
            self.mark_cap_hit()
            raise BudgetExceeded(
                f"run cost cap ${self.max_cost_usd:.4f} spent (${spent:.4f} so far); no further live model "
                "calls are made in this run. Raise --llmops-max-cost-usd (ini llmops_max_cost_usd), or run from "
                "recordings with --llmops-record-mode=none."
            )

    def add_spend(self, usd: float | None, tokens: int) -> None:
        """Count one live call costing ``usd`` (``None``: price unknown) and ``tokens`` tokens."""
        cost = float(usd) if usd is not None and usd > 0 else 0.0
        with self._transaction() as db:
            db.execute(
                "UPDATE spend SET spent_usd = spent_usd + ?, live_calls = live_calls + 1, "
                "unpriced_calls = unpriced_calls + ?, tokens = tokens + ? WHERE id = 1",
                (cost, 1 if usd is None else 0, int(tokens or 0)),
            )

    def mark_cap_hit(self) -> None:
        with self._transaction() as db:
            db.execute("UPDATE spend SET cap_hit = 1 WHERE id = 1")

    @property
    def cap_hit(self) -> bool:
        return self.totals()["cap_hit"]

    def totals(self) -> dict:
        row = self._connection().execute(
            "SELECT spent_usd, live_calls, unpriced_calls, tokens, cap_hit FROM spend WHERE id = 1"
        ).fetchone()
        spent, live_calls, unpriced, tokens, marked = row
        cap = self.max_cost_usd
        return {
            "spent_usd": float(spent),
            "live_calls": int(live_calls),
            "unpriced_calls": int(unpriced),
            "tokens": int(tokens),
            "cap_usd": cap,
            "cap_hit": bool(marked) or (cap is not None and spent >= cap),
        }

    # -- concurrency slots -----------------------------------------------------------------------
    def _try_acquire(self, token: str) -> bool:
        assert self.concurrency is not None
        with self._transaction() as db:
            holders = db.execute(
                "SELECT idx, pid FROM slots WHERE idx < ? AND pid IS NOT NULL", (self.concurrency,)
            ).fetchall()
            dead = [idx for idx, pid in holders if not _pid_alive(pid)]
            if dead:
                db.executemany("UPDATE slots SET pid = NULL, token = NULL, acquired = NULL WHERE idx = ?",
                               [(idx,) for idx in dead])
            free = db.execute(
                "SELECT idx FROM slots WHERE idx < ? AND pid IS NULL ORDER BY idx LIMIT 1", (self.concurrency,)
            ).fetchone()
            if free is None:
                return False
            db.execute("UPDATE slots SET pid = ?, token = ?, acquired = ? WHERE idx = ?",
                       (os.getpid(), token, time.time(), free[0]))
            return True

    def _release(self, token: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE slots SET pid = NULL, token = NULL, acquired = NULL WHERE token = ?", (token,))

    def _timeout_error(self) -> InfrastructureError:
        return InfrastructureError(
            f"waited {self.slot_wait_timeout_s:g}s for one of {self.concurrency} live-call slots "
            f"(ledger {self.path}); other calls hold them all. Raise --llmops-concurrency or lower the "
            "model-call timeout."
        )

    def _delays(self) -> Iterator[float]:
        delay = _POLL_MIN_S
        while True:
            yield delay * random.uniform(0.5, 1.0)
            delay = min(delay * 2, _POLL_MAX_S)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``concurrency`` slots of the run while the block runs (no-op when unlimited)."""
        if self.concurrency is None:
            yield
            return
        token = uuid.uuid4().hex
        deadline = None if self.slot_wait_timeout_s is None else time.monotonic() + self.slot_wait_timeout_s
        for delay in self._delays():
            if self._try_acquire(token):
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise self._timeout_error()
            time.sleep(delay)
        try:
            yield
        finally:
            self._release(token)

    @contextlib.asynccontextmanager
    async def aslot(self) -> AsyncIterator[None]:
        """:meth:`slot` for coroutines: waits with ``asyncio.sleep`` so the event loop keeps running."""
        if self.concurrency is None:
            yield
            return
        token = uuid.uuid4().hex
        deadline = None if self.slot_wait_timeout_s is None else time.monotonic() + self.slot_wait_timeout_s
        for delay in self._delays():
            if self._try_acquire(token):
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise self._timeout_error()
            await asyncio.sleep(delay)
        try:
            yield
        finally:
            self._release(token)

    def slots_in_use(self) -> int:
        """How many slots are held right now, by any process."""
        if self.concurrency is None:
            return 0
        return self._connection().execute(
            "SELECT COUNT(*) FROM slots WHERE idx < ? AND pid IS NOT NULL", (self.concurrency,)
        ).fetchone()[0]
