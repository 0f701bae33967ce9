"""Replay overhead: our replayed ``CallEngine.complete()`` vs litellm's own ``mock_response=`` path; replayed
streams (per call and per chunk); and a replayed call made through the ``openai`` SDK (HTTP capture) against
the same call made through litellm (litellm capture).

Both sides of each comparison are measured in one process, alternating call by call, and the medians are
compared.  The first cassette is recorded offline (litellm's ``mock_response``); the stream and SDK cassettes
are recorded from the loopback server on 127.0.0.1, which then counts that the replays sent nothing.

    PYTHONPATH=. /work/venv/bin/python bench/replay.py [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_llmops.calls.engine import CallEngine, CallSettings, load_litellm  # noqa: E402
from pytest_llmops.record.recorder import TestRecorder  # noqa: E402

MODEL = "openai/gpt-4o-mini"
NODE = "bench/test_replay.py::test_replay"
MESSAGES = [{"role": "system", "content": "You answer support questions."},
            {"role": "user", "content": "Which plan includes single sign-on for every seat?"}]
ANSWER = "The Business plan includes SSO for every seat."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    n = args.calls
    litellm = load_litellm()
    with tempfile.TemporaryDirectory() as tmp:
        recordings = Path(tmp)
        recorder = CallEngine(CallSettings(record_mode="once", recordings_dir=recordings, default_model=MODEL))
        recorder.begin_test(NODE, TestRecorder(NODE), recorder.cassette_path_for(NODE))
        for _ in range(n):  # n occurrences of the same request
            recorder.complete(MESSAGES, temperature=0, mock_response=ANSWER)
        recorder.end_test()

        engine = CallEngine(CallSettings(record_mode="none", recordings_dir=recordings, default_model=MODEL))
        engine.begin_test(NODE, TestRecorder(NODE), engine.cassette_path_for(NODE))
        for _ in range(20):  # warm both paths
            litellm.completion(model=MODEL, messages=MESSAGES, mock_response=ANSWER)
        ours, theirs = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            reply = engine.complete(MESSAGES, temperature=0)
            t1 = time.perf_counter()
            litellm.completion(model=MODEL, messages=MESSAGES, temperature=0, mock_response=ANSWER)
            t2 = time.perf_counter()
            assert reply.cached and reply.text == ANSWER
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
        engine.end_test()
    ours_ms, theirs_ms = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
    print(f"calls per side            : {n} (alternating)")
    print(f"replayed complete() median: {ours_ms:.3f} ms   (goal <= 0.5 ms)")
    print(f"litellm mock_response     : {theirs_ms:.3f} ms")
    print(f"ratio ours / litellm mock : {ours_ms / theirs_ms:.3f}")
    from _common import emit_result  # bench/_common.py: the line bench/run_all.py reads

    emit_result("replay", "replayed complete() median", round(ours_ms, 3), unit="ms", goal="<= 0.5", met=ours_ms <= 0.5,
                litellm_mock_ms=round(theirs_ms, 3))
    from replay_streams import measure_routes, measure_streams

    measure_streams(max(20, n // 3))
    measure_routes(n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
