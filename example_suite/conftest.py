"""The Lumen support assistant's regression suite (the pytest-llmops example).

Offline by default: every model call is replayed from ``recordings/`` (committed, recorded against
SmolLM2-135M-Instruct served locally by llama-cpp-python).  Live:

    pytest example_suite --llmops-record-mode=all        # re-record; starts the local model on :8765 if needed
    SUPPORT_BOT_MODEL=openai/gpt-4o-mini SUPPORT_BOT_API_BASE=https://api.openai.com/v1 \\
    SUPPORT_BOT_API_KEY=$OPENAI_API_KEY pytest example_suite --llmops-record-mode=all --llmops-max-cost-usd=1
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

LOCAL_API_BASE = "http://127.0.0.1:8765/v1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--support-prompt-version", default=None,
                     help="support_answer prompt version for test_answers.py (default: the prompt's current one)")


@pytest.fixture(scope="session")
def prompt_version(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--support-prompt-version")


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="session", autouse=True)
def support_model(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a live run against the default local endpoint, start SmolLM2 unless something already serves :8765."""
    mode = request.config.getoption("llmops_record_mode") or request.config.getini("llmops_record_mode") or "none"
    local = os.environ.get("SUPPORT_BOT_API_BASE", LOCAL_API_BASE) == LOCAL_API_BASE
    if mode == "none" or not local or _listening("127.0.0.1", 8765):
        yield
        return
    from pytest_llmops.testing.local_model import LocalModelServer

    # 4096 tokens: some grounding-audit prompts (articles + answer + reference) exceed llama.cpp's default 2048
    with LocalModelServer(port=8765, n_ctx=4096):
        yield


@pytest.fixture
def judge_llm_defaults() -> dict[str, str]:
    """Where the judge runs: the same endpoint as the app (override with --llmops-judge-model)."""
    return {
        "model": os.environ.get("SUPPORT_BOT_MODEL", "openai/smollm2-135m"),
        "api_base": os.environ.get("SUPPORT_BOT_API_BASE", LOCAL_API_BASE),
        "api_key": os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"),
    }
