"""Make ``traces.json``: Lumen's support assistant "in production", traced with OpenTelemetry.

    flock /tmp/smollm2.lock python example_suite/production/make_traces.py [--out FILE] [--base-url URL]

Runs ``support_app`` (the openai SDK, prompt ``support_answer`` v1) under
``opentelemetry-instrumentation-openai-v2`` against SmolLM2-135M-Instruct (started here on a free loopback
port unless ``--base-url`` points at a running OpenAI-compatible server) for the conversations below, and
writes every span as OTLP JSON (the OpenTelemetry SDK's spans through the OTLP encoder, as a Collector's file
exporter writes them).

Each conversation runs under a ``conversation`` span (tags, prompt name and version).  Afterwards the
customer's verdict arrives as a ``user_feedback`` span in the same trace with ``user.feedback``:
``thumbs_down`` when the last answer is visibly bad — it contains none of the key facts of the help-center
article that answers the question (listed next to each question; for the off-topic question, no redirection
to Lumen support) — else ``thumbs_up``.  Then:

    pytest-llmops goldens import example_suite/production/traces.json -o example_suite/goldens/production.jsonl \\
        --recordings-for example_suite/test_shadow.py::test_production_replays_offline
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the example suite: app/, production/

os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"

# (tags, user turns, key facts of the right answer to the last turn: any one of them, case-insensitive)
CONVERSATIONS: list[tuple[list[str], list[str], tuple[str, ...]]] = [
    (["account"], ["How do I reset my password?"], ("forgot password", "reset link", "60 minutes")),
    (["billing"], ["Can I get a refund for my yearly plan?"], ("30 days",)),
    (["sync"], ["My notes are stuck syncing, what should I do?"],
     ("status.lumen", "sign out", "local cache", "update the app")),
    (["data"], ["How do I export all my notes?"], ("markdown", "html", "json", "settings > workspace")),
    (["data"], ["What happens to the notes I delete?"], ("trash", "30 days")),
    (["security"], ["How do I turn on two-factor authentication?"], ("settings > security", "authenticator")),
    (["integrations"], ["Can I connect Lumen to Slack?"], ("settings > integrations", "admin")),
    (["off-topic"], ["What is the capital of France?"], ("lumen", "support")),
    (["security"], ["I lost my phone with my authenticator app.",
                    "I have no backup codes and no admin, what now?"], ("contact support", "3 business days")),
    (["workspace", "billing"], ["How do I invite my team to Lumen?", "How much does each extra member cost?"],
     ("seat", "prorated")),
]


def visibly_bad(answer: str, facts: tuple[str, ...]) -> bool:
    text = answer.lower()
    return not any(fact in text for fact in facts)


def serve(base_url: str, out: Path) -> list[dict[str, object]]:
    import openai
    from google.protobuf.json_format import MessageToDict
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from production.support_app import chat_turn

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "lumen-support"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    OpenAIInstrumentor().instrument(tracer_provider=provider)
    client = openai.OpenAI(base_url=base_url, api_key="sk-local-not-secret", timeout=120)
    tracer = provider.get_tracer("lumen-support")
    served = []
    for number, (tags, turns, facts) in enumerate(CONVERSATIONS, start=1):
        with tracer.start_as_current_span("conversation") as span:
            span.set_attribute("tags", tags)
            span.set_attribute("session.id", f"session-{number:02d}")
            span.set_attribute("llmops.prompt.name", "support_answer")
            span.set_attribute("llmops.prompt.version", "v1")
            history: list[dict[str, str]] = []
            answers = [chat_turn(client, question, history) for question in turns]
        feedback = "thumbs_down" if visibly_bad(answers[-1], facts) else "thumbs_up"
        with tracer.start_as_current_span("user_feedback", context=trace.set_span_in_context(span)) as rating:
            rating.set_attribute("user.feedback", feedback)
        served.append({"turns": turns, "answers": answers, "feedback": feedback})
        print(f"[{feedback}] {turns[-1]!r} -> {answers[-1]!r}", flush=True)
    provider.shutdown()
    document = MessageToDict(encode_spans(memory.get_finished_spans()))
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE / "traces.json"), help="OTLP JSON file to write")
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: start SmolLM2 locally)")
    args = parser.parse_args()
    if args.base_url:
        served = serve(args.base_url, Path(args.out))
    else:
        from pytest_llmops.testing.local_model import LocalModelServer

        with LocalModelServer() as server:
            served = serve(server.base_url, Path(args.out))
    bad = sum(s["feedback"] == "thumbs_down" for s in served)
    print(f"{len(served)} conversations, {bad} thumbs-down -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
