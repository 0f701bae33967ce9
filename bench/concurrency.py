"""Concurrency: wall time of 20 concurrent ``acomplete`` calls vs one call, at 300 ms server latency.

The calls are live (record mode ``off``) to the loopback server on 127.0.0.1, through the run ledger with 20
slots.  Goal: 20 concurrent calls take at most 2x the time of one.

    PYTHONPATH=. /work/venv/bin/python bench/concurrency.py [--calls 20] [--latency 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmops.calls.engine import CallEngine, CallSettings  # noqa: E402
from pytest_llmops.calls.ledger import RunLedger  # noqa: E402
from pytest_llmops.record.recorder import TestRecorder  # noqa: E402
from pytest_llmops.testing.loopback import LoopbackServer  # noqa: E402

MODEL = "openai/gpt-4o-mini"


async def timed(engine: CallEngine, count: int, tag: str) -> float:
    t0 = time.perf_counter()
    replies = await asyncio.gather(*(engine.acomplete(f"{tag} question {i}") for i in range(count)))
    elapsed = time.perf_counter() - t0
    assert len(replies) == count and not any(r.cached for r in replies)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with LoopbackServer(latency_s=args.latency) as server, tempfile.TemporaryDirectory() as tmp:
        ledger = RunLedger(Path(tmp) / "ledger.sqlite", concurrency=args.calls)
        engine = CallEngine(CallSettings(record_mode="off", recordings_dir=Path(tmp), default_model=MODEL, ledger=ledger,
                                         default_params={"api_base": server.base_url, "api_key": "sk-bench-0000"}))
        engine.begin_test("bench::concurrency", TestRecorder("bench"), None)

        async def run() -> tuple[list[float], list[float]]:
            await timed(engine, 2, "warmup")  # import litellm, open connections
            singles, batches = [], []
            for r in range(args.rounds):
                singles.append(await timed(engine, 1, f"single{r}"))
                batches.append(await timed(engine, args.calls, f"batch{r}"))
            return singles, batches

        singles, batches = asyncio.run(run())
        engine.end_test()
    one, many = statistics.median(singles), statistics.median(batches)
    print(f"server latency          : {args.latency * 1e3:.0f} ms, rounds: {args.rounds} (medians)")
    print(f"1 call                  : {one * 1e3:.0f} ms")
    print(f"{args.calls} concurrent calls     : {many * 1e3:.0f} ms")
    print(f"ratio many / one        : {many / one:.2f}   (goal <= 2.0)")
    from _common import emit_result  # bench/_common.py: the line bench/run_all.py reads

    emit_result("concurrency", f"{args.calls} concurrent calls / 1 call", round(many / one, 2), unit="x",
                goal="<= 2.0", met=many / one <= 2.0, one_ms=round(one * 1e3), many_ms=round(many * 1e3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
