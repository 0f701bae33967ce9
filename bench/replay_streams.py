"""Replayed streams and the openai-SDK route, for ``bench/replay.py`` (loopback server on 127.0.0.1 only)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import emit_result

from pytest_llmops.calls import capture
from pytest_llmops.calls.engine import CallEngine, CallSettings
from pytest_llmops.calls.fixture_stream import open_stream
from pytest_llmops.record.recorder import TestRecorder
from pytest_llmops.testing.loopback import LoopbackServer

NODE = "bench/test_streams.py::test_stream"
CHUNKS = 200
# one chunk per (letters-only) word, plus the role and the finish chunks
WORDS = " ".join(f"w{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(CHUNKS - 2))


def _engine(recordings: Path, mode: str, base_url: str) -> CallEngine:
    engine = CallEngine(CallSettings(record_mode=mode, recordings_dir=recordings, default_model="openai/loopback-model",
                                     default_params={"api_base": base_url, "api_key": "sk-bench-not-secret"},
                                     prices={"openai/loopback-model": (1.0, 2.0)}))
    engine.begin_test(NODE, TestRecorder(NODE), engine.cassette_path_for(NODE))
    capture.set_active(engine)
    return engine


def _end(engine: CallEngine) -> None:
    capture.set_active(None)
    engine.end_test()


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1e3


def _alternate(n: int, sides: dict[str, Callable[[], Any]]) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(n):
        for name, side in sides.items():
            started = time.perf_counter()
            side()
            times[name].append(time.perf_counter() - started)
    return {name: _median_ms(samples) for name, samples in times.items()}


def _stream_sides(server: LoopbackServer, n: int) -> dict[str, Callable[[], Any]]:
    import litellm
    import openai

    msgs = [{"role": "user", "content": "stream two hundred chunks"}]
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-bench-not-secret", max_retries=0)
    return {
        "llm.stream()": lambda: open_stream(capture.active(), msgs, None, {"temperature": 0}).read(),
        "litellm stream=True": lambda: list(litellm.completion(
            model="openai/loopback-model", messages=msgs, temperature=0, stream=True, api_base=server.base_url,
            api_key="sk-bench-not-secret")),
        "openai SDK stream=True": lambda: list(client.chat.completions.create(
            model="loopback-model", messages=msgs, temperature=0, stream=True)),
    }


def measure_streams(n: int) -> None:
    """Replayed 200-chunk streams through the llm fixture, litellm and the openai SDK: per call and per chunk."""
    capture.install()
    with LoopbackServer(responder=lambda body: WORDS) as server, tempfile.TemporaryDirectory() as tmp:
        engine = _engine(Path(tmp), "new_episodes", server.base_url)
        sides = _stream_sides(server, n)
        for side in sides.values():  # records one occurrence of each route per measured call
            for _ in range(n + 5):
                side()
        _end(engine)
        sent = len(server.requests)
        engine = _engine(Path(tmp), "none", server.base_url)
        for side in sides.values():  # warm-up: the first occurrences
            for _ in range(5):
                side()
        medians = _alternate(n, sides)
        _end(engine)
        assert len(server.requests) == sent, "a replayed stream reached the server"
    capture.uninstall()
    print(f"replayed {CHUNKS}-chunk stream, median of {n} calls (no request reached the server):")
    for name, ms in medians.items():
        print(f"  {name:<24}: {ms:.3f} ms per call, {ms * 1e3 / CHUNKS:.2f} us per chunk")
    fixture_ms = medians["llm.stream()"]
    emit_result("replay", f"replayed {CHUNKS}-chunk stream (llm.stream) median", round(fixture_ms, 3), unit="ms",
                goal="<= 2", met=fixture_ms <= 2.0, per_chunk_us=round(fixture_ms * 1e3 / CHUNKS, 2),
                litellm_route_ms=round(medians["litellm stream=True"], 3),
                openai_sdk_route_ms=round(medians["openai SDK stream=True"], 3))


def measure_routes(n: int) -> None:
    """A replayed chat completion through the openai SDK (HTTP capture) vs through litellm (litellm capture)."""
    import litellm
    import openai

    capture.install()
    msgs = [{"role": "user", "content": "which plan has SSO?"}]
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-bench-not-secret", max_retries=0)
        sides = {
            "openai SDK": lambda: client.chat.completions.create(model="loopback-model", messages=msgs,
                                                                 temperature=0).choices[0].message.content,
            "litellm": lambda: litellm.completion(model="openai/loopback-model", messages=msgs, temperature=0,
                                                  api_base=server.base_url,
                                                  api_key="sk-bench-not-secret").choices[0].message.content,
        }
        engine = _engine(Path(tmp), "new_episodes", server.base_url)
        for _ in range(2 * (n + 10)):  # same request, so both routes share occurrences: record them all
            sides["litellm"]()  # through litellm; the SDK replays these recordings too
        _end(engine)
        sent = len(server.requests)
        engine = _engine(Path(tmp), "none", server.base_url)
        for _ in range(10):
            sides["openai SDK"]()
            sides["litellm"]()
        medians = _alternate(n, sides)
        _end(engine)
        assert len(server.requests) == sent, "a replayed call reached the server"
    capture.uninstall()
    ratio = medians["openai SDK"] / medians["litellm"]
    print(f"replayed chat completion, median of {n} calls: openai SDK {medians['openai SDK']:.3f} ms, "
          f"litellm {medians['litellm']:.3f} ms, ratio SDK / litellm {ratio:.2f}")
    emit_result("replay", "replayed call, openai SDK route / litellm route", round(ratio, 3), unit="x",
                openai_sdk_ms=round(medians["openai SDK"], 3), litellm_ms=round(medians["litellm"], 3))
