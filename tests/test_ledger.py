"""The run ledger: cost cap and live-call slots shared by real, separate processes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_llmops.calls.ledger import RunLedger
from pytest_llmops.errors import BudgetExceeded, ConfigError, InfrastructureError

REPO = Path(__file__).resolve().parents[1]


def run_workers(code: str, count: int, *args: str, timeout: float = 60) -> list[str]:
    """Start ``count`` Python processes running ``code`` at the same time; return their stdout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = textwrap.dedent(code)
    processes = [subprocess.Popen([sys.executable, "-c", script, str(index), *args], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for index in range(count)]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def test_spend_is_summed_and_cap_refuses_further_calls(tmp_path):
    ledger = RunLedger(tmp_path / "ledger.db", max_cost_usd=0.10)
    ledger.add_spend(0.04, 100)
    ledger.add_spend(None, 7)  # price unknown: counted, costs nothing
    ledger.check_can_spend()
    assert not ledger.cap_hit
    ledger.add_spend(0.06, 50)
    with pytest.raises(BudgetExceeded, match=r"run cost cap \$0\.1000 spent \(\$0\.1000 so far\)"):
        ledger.check_can_spend()
    totals = RunLedger(tmp_path / "ledger.db", max_cost_usd=0.10).totals()  # another opener sees it
    assert totals == {"spent_usd": pytest.approx(0.10), "live_calls": 3, "unpriced_calls": 1, "tokens": 157,
                      "cap_usd": 0.10, "cap_hit": True}


def test_no_cap_never_refuses_and_cap_hit_can_be_marked(tmp_path):
    ledger = RunLedger(tmp_path / "ledger.db")
    ledger.add_spend(1000.0, 1)
    ledger.check_can_spend()
    assert ledger.totals()["cap_hit"] is False
    ledger.mark_cap_hit()
    assert ledger.cap_hit is True


@pytest.mark.parametrize("kwargs", [{"max_cost_usd": -1.0}, {"concurrency": 0}, {"concurrency": 1.5}])
def test_bad_settings_are_config_errors(tmp_path, kwargs):
    with pytest.raises(ConfigError, match="llmops"):
        RunLedger(tmp_path / "ledger.db", **kwargs)


SPENDER = """
    import sys, time
    from pathlib import Path
    from pytest_llmops.calls.ledger import RunLedger
    from pytest_llmops.errors import BudgetExceeded
    ledger = RunLedger(Path(sys.argv[2]), max_cost_usd=float(sys.argv[3]))
    calls = 0
    while True:
        try:
            ledger.check_can_spend()
        except BudgetExceeded:
            break
        time.sleep(0.001)  # the "call" is in flight
        ledger.add_spend(0.01, 3)
        calls += 1
    print(calls)
"""


def test_two_processes_spending_together_stop_at_the_cap(tmp_path):
    path = tmp_path / "ledger.db"
    RunLedger(path, max_cost_usd=0.5)
    outputs = run_workers(SPENDER, 2, str(path), "0.5")
    calls = [int(out) for out in outputs]
    totals = RunLedger(path, max_cost_usd=0.5).totals()
    assert totals["live_calls"] == sum(calls)  # no lost update
    assert totals["tokens"] == 3 * sum(calls)
    # each process may have one call in flight when the cap is reached, never more
    assert 0.5 - 1e-9 <= totals["spent_usd"] <= 0.5 + 2 * 0.01 + 1e-9
    assert totals["cap_hit"]


SLOT_HOLDER = """
    import sqlite3, sys, time
    from pathlib import Path
    from pytest_llmops.calls.ledger import RunLedger
    index, path = sys.argv[1], Path(sys.argv[2])
    ledger = RunLedger(path, concurrency=2)
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    for call in range(6):
        with ledger.slot():
            db.execute("INSERT INTO holds (who, event, at) VALUES (?, 'enter', ?)", (index, time.time()))
            time.sleep(0.03)
            db.execute("INSERT INTO holds (who, event, at) VALUES (?, 'exit', ?)", (index, time.time()))
"""


def test_concurrency_limit_holds_across_three_processes(tmp_path):
    path = tmp_path / "ledger.db"
    RunLedger(path, concurrency=2)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE holds (who TEXT, event TEXT, at REAL)")
    run_workers(SLOT_HOLDER, 3, str(path))
    events = db.execute("SELECT at, event FROM holds ORDER BY at, event").fetchall()
    assert len(events) == 3 * 6 * 2
    holders = peak = 0
    for _, event in events:  # "exit" sorts before "enter" at equal times
        holders += 1 if event == "enter" else -1
        peak = max(peak, holders)
    assert peak <= 2
    assert RunLedger(path, concurrency=2).slots_in_use() == 0


def test_full_slots_block_until_released(tmp_path):
    ledger = RunLedger(tmp_path / "ledger.db", concurrency=2, slot_wait_timeout_s=0.2)
    with ledger.slot(), ledger.slot():
        assert ledger.slots_in_use() == 2
        with pytest.raises(InfrastructureError, match="live-call slots"):
            with ledger.slot():
                pass
    with ledger.slot():
        assert ledger.slots_in_use() == 1


def test_slot_of_a_dead_process_is_reclaimed(tmp_path):
    path = tmp_path / "ledger.db"
    RunLedger(path, concurrency=1)
    run_workers("""
        import os, sys
        from pathlib import Path
        from pytest_llmops.calls.ledger import RunLedger
        with RunLedger(Path(sys.argv[2]), concurrency=1).slot():
            os._exit(0)  # dies holding the slot
    """, 1, str(path))
    ledger = RunLedger(path, concurrency=1, slot_wait_timeout_s=5)
    with ledger.slot():
        assert ledger.slots_in_use() == 1


def test_unlimited_slot_is_a_no_op(tmp_path):
    ledger = RunLedger(tmp_path / "ledger.db")
    with ledger.slot():
        assert ledger.slots_in_use() == 0


def test_async_slots_limit_coroutines_without_blocking_the_loop(tmp_path):
    ledger = RunLedger(tmp_path / "ledger.db", concurrency=2)
    inside = peak = 0
    ticks = 0

    async def call() -> None:
        nonlocal inside, peak
        async with ledger.aslot():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def main() -> None:
        stop = asyncio.Event()
        tick_task = asyncio.create_task(ticker(stop))
        await asyncio.gather(*(call() for _ in range(6)))
        stop.set()
        await tick_task

    asyncio.run(main())
    assert peak == 2
    assert ticks > 3  # the loop kept running while coroutines waited for slots
    assert ledger.slots_in_use() == 0
