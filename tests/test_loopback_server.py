"""The loopback OpenAI-compatible server, exercised over real HTTP with the stdlib client."""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_llmops.testing.loopback import LoopbackServer, count_tokens

REPO = Path(__file__).resolve().parents[1]


def post(url: str, body: dict, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer sk-x"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def chat(server: LoopbackServer, text: str, **extra) -> dict:
    status, _, raw = post(f"{server.base_url}/chat/completions",
                          {"model": "loopback-model", "messages": [{"role": "user", "content": text}], **extra})
    assert status == 200, raw
    return json.loads(raw)


@pytest.fixture
def server():
    with LoopbackServer(seed=7) as running:
        yield running


def test_chat_completion_is_openai_shaped_with_derived_usage(server):
    reply = chat(server, "what is the capital of France", temperature=0)
    assert reply["object"] == "chat.completion"
    assert reply["model"] == "loopback-model"
    message = reply["choices"][0]["message"]
    assert message["role"] == "assistant"
    assert "what is the capital of France" in message["content"]
    usage = reply["usage"]
    assert usage["prompt_tokens"] == count_tokens("what is the capital of France") == 8
    assert usage["completion_tokens"] == count_tokens(message["content"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_temperature_zero_is_deterministic_and_sampling_varies(server):
    fixed = {chat(server, "same question", temperature=0)["choices"][0]["message"]["content"] for _ in range(3)}
    assert len(fixed) == 1
    other = chat(server, "another question", temperature=0)["choices"][0]["message"]["content"]
    assert other not in fixed
    sampled = {chat(server, "same question", temperature=0.8)["choices"][0]["message"]["content"]
               for _ in range(5)}
    assert len(sampled) == 5


def test_same_seed_gives_same_samples_across_servers():
    def samples(seed: int) -> list[str]:
        with LoopbackServer(seed=seed) as running:
            return [chat(running, "q", temperature=1)["choices"][0]["message"]["content"] for _ in range(3)]

    assert samples(3) == samples(3)
    assert samples(3) != samples(4)


def test_streaming_chunks_rebuild_the_answer_and_end_with_done(server):
    expected = chat(server, "stream me", temperature=0)["choices"][0]["message"]["content"]
    status, headers, raw = post(f"{server.base_url}/chat/completions",
                                {"model": "m", "messages": [{"role": "user", "content": "stream me"}],
                                 "temperature": 0, "stream": True, "stream_options": {"include_usage": True}})
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = [line[len("data: "):] for line in raw.decode().split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    text = "".join(choice["delta"].get("content") or "" for chunk in chunks for choice in chunk["choices"])
    assert text == expected
    assert chunks[-1]["usage"]["completion_tokens"] == count_tokens(expected)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"


def test_embeddings_are_deterministic_unit_vectors(server):
    status, _, raw = post(f"{server.base_url}/embeddings", {"model": "e", "input": ["alpha", "beta", "alpha"]})
    assert status == 200
    data = json.loads(raw)["data"]
    vectors = [item["embedding"] for item in data]
    assert [item["index"] for item in data] == [0, 1, 2]
    assert all(len(vector) == 16 for vector in vectors)
    assert all(math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0) for vector in vectors)
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]


def test_models_and_legacy_completions(server):
    with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:
        assert json.load(response)["data"][0]["id"] == "loopback-model"
    status, _, raw = post(f"{server.base_url}/completions", {"model": "m", "prompt": "say hi", "temperature": 0})
    completion = json.loads(raw)
    assert status == 200 and completion["object"] == "text_completion"
    assert "say hi" in completion["choices"][0]["text"]
    assert completion["usage"]["prompt_tokens"] == count_tokens("say hi")


def test_requests_are_recorded_with_path_and_lowercase_headers(server):
    chat(server, "record me", temperature=0)
    entry = server.requests[-1]
    assert entry["path"] == "/v1/chat/completions"
    assert entry["headers"]["authorization"] == "Bearer sk-x"
    assert entry["messages"][0]["content"] == "record me"


def test_queued_responses_are_served_in_order_before_the_responder():
    with LoopbackServer(responder=lambda body: "from responder") as running:
        running.queue_response("first")
        running.queue_response({"score": 4, "reason": "good"})
        running.queue_response({"content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]})
        answers = [chat(running, "q")["choices"][0] for _ in range(4)]
    assert answers[0]["message"]["content"] == "first"
    assert json.loads(answers[1]["message"]["content"]) == {"score": 4, "reason": "good"}
    assert answers[2]["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    assert answers[2]["finish_reason"] == "tool_calls"
    assert answers[3]["message"]["content"] == "from responder"


def test_logprobs_give_score_digit_alternatives(server):
    server.queue_response('{"score": 2, "reason": "thin"}')
    reply = chat(server, "judge this", logprobs=True, top_logprobs=5)
    content = reply["choices"][0]["logprobs"]["content"]
    assert "".join(item["token"] for item in content) == '{"score": 2, "reason": "thin"}'
    digit = next(item for item in content if item["token"] == "2")
    alternatives = {alt["token"]: alt["logprob"] for alt in digit["top_logprobs"]}
    assert set(alternatives) == {"1", "2", "3", "4", "5"}
    assert max(alternatives, key=alternatives.get) == "2"
    assert math.isclose(sum(math.exp(lp) for lp in alternatives.values()), 1.0, rel_tol=1e-6)


def test_concurrent_requests_are_served_in_parallel():
    barrier = threading.Barrier(5, timeout=10)

    def responder(body: dict) -> str:
        barrier.wait()  # breaks (500) unless 5 requests are inside the server at the same time
        return "together"

    with LoopbackServer(responder=responder, latency_s=0.05) as running, ThreadPoolExecutor(5) as pool:
        replies = list(pool.map(lambda i: chat(running, f"q{i}"), range(5)))
    assert {reply["choices"][0]["message"]["content"] for reply in replies} == {"together"}


def test_http_faults_look_like_a_provider():
    with LoopbackServer(retry_after_s=1.5) as running:
        url = f"{running.base_url}/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        for kind in ("429", "500", "503", "401", "400"):
            running.queue_fault(kind)
        limited = post(url, body)
        assert limited[0] == 429 and limited[1]["Retry-After"] == "1.5"
        assert json.loads(limited[2])["error"]["code"] == "rate_limit_exceeded"
        assert [post(url, body)[0] for _ in range(4)] == [500, 503, 401, 400]
        assert post(url, body)[0] == 200  # queue empty, no random faults


def test_malformed_drop_and_hang_faults():
    with LoopbackServer(hang_s=0.5) as running:
        url = f"{running.base_url}/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        running.queue_fault("malformed")
        status, _, raw = post(url, body)
        assert status == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
        running.queue_fault("drop")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
            post(url, body)
        running.queue_fault("hang")
        with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
            post(url, body, timeout=0.1)
        running.queue_fault("hang")  # bounded: after hang_s the answer comes
        assert post(url, body, timeout=30)[0] == 200


def test_random_faults_follow_the_seed():
    def statuses(seed: int) -> list[int]:
        with LoopbackServer(fault_rate=0.5, fault_kinds=("429", "500"), seed=seed) as running:
            url = f"{running.base_url}/chat/completions"
            return [post(url, {"model": "m", "messages": []})[0] for _ in range(12)]

    first = statuses(11)
    assert first == statuses(11)
    assert set(first) == {200, 429, 500}


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind"):
        LoopbackServer(fault_kinds=("429", "teapot"))


def test_cli_prints_base_url_and_obeys_control_from_another_process():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "pytest_llmops.testing.loopback", "--port", "0",
                                "--seed", "1"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        root = base_url[: -len("/v1")]
        status, _, raw = post(f"{root}/__control", {"queue_fault": {"kind": "500", "count": 2},
                                                     "queue_response": ["scripted"]})
        assert status == 200 and json.loads(raw)["queued_faults"] == ["500", "500"]
        body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
        assert [post(f"{base_url}/chat/completions", body)[0] for _ in range(2)] == [500, 500]
        status, _, raw = post(f"{base_url}/chat/completions", body)
        assert json.loads(raw)["choices"][0]["message"]["content"] == "scripted"
        with urllib.request.urlopen(f"{root}/__requests", timeout=5) as response:
            assert len(json.load(response)["requests"]) == 3
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
