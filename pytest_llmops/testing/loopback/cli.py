"""``python -m pytest_llmops.testing.loopback``: run a loopback server until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from .faults import FAULT_KINDS
from .server import LoopbackServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmops.testing.loopback",
        description="Run an OpenAI-compatible loopback model server; prints its base URL first.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every model request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of a random fault")
    parser.add_argument("--fault-kinds", default="429,500,hang,malformed",
                        help=f"comma-separated, from {','.join(FAULT_KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-after", type=float, default=0.2, help="Retry-After seconds sent with 429")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds a 'hang' fault stalls")
    parser.add_argument("--model-name", default="loopback-model")
    args = parser.parse_args(argv)
    try:
        server = LoopbackServer(
            latency_s=args.latency, fault_rate=args.fault_rate,
            fault_kinds=[kind for kind in args.fault_kinds.split(",") if kind],
            seed=args.seed, retry_after_s=args.retry_after, hang_s=args.hang,
            model_name=args.model_name, host=args.host, port=args.port,
        )
    except ValueError as exc:
        parser.error(str(exc))
    server.start()

    def _stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(server.base_url, flush=True)
    server.serve_forever()
    return 0
