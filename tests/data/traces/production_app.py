"""A small "production" openai-SDK support app under opentelemetry-instrumentation-openai-v2 (run as a script).

Usage: ``python production_app.py BASE_URL SPANS.jsonl OTLP.json [openinference]``.  Serves four conversations
against the OpenAI-compatible server at BASE_URL; the OpenTelemetry SDK writes every span to SPANS.jsonl (one
``span.to_json()`` per line, through ``ConsoleSpanExporter``) and, through the OTLP encoder, to OTLP.json.
With ``openinference`` the app is instrumented by ``openinference-instrumentation-openai`` instead.
Each conversation runs under a parent span carrying the user's feedback and tags, as an app would set them.
"""

from __future__ import annotations

import os
import sys

os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"

SYSTEM = "You are the support agent of Acme. Answer briefly."


def answer(client, question, history=()):
    messages = [{"role": "system", "content": SYSTEM}, *history, {"role": "user", "content": question}]
    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0, max_tokens=200)
    return response.choices[0].message.content


CONVERSATIONS = [  # (feedback, tags, user turns)
    ("thumbs_down", ["billing"], ["My card was charged twice, email me at jane.doe@example.com",
                                  "Call me on +1 415 555 2671 instead"]),
    ("thumbs_down", ["account"], ["How do I reset my password?"]),
    ("thumbs_down", ["account"], ["how do I reset my password"]),  # a near-duplicate of the one before
    ("thumbs_up", ["hours"], ["What are your opening hours?"]),
]


def main(base_url: str, spans_path: str, otlp_path: str, instrumentation: str = "openai-v2") -> None:
    import openai
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    if instrumentation == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    with open(spans_path, "w", encoding="utf-8") as spans_file:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(memory))
        provider.add_span_processor(SimpleSpanProcessor(
            ConsoleSpanExporter(out=spans_file, formatter=lambda span: span.to_json(indent=None) + "\n")))
        OpenAIInstrumentor().instrument(tracer_provider=provider)
        client = openai.OpenAI(base_url=base_url, api_key="sk-production-key")
        tracer = provider.get_tracer("support-app")
        for feedback, tags, turns in CONVERSATIONS:
            with tracer.start_as_current_span("conversation") as span:
                span.set_attribute("user.feedback", feedback)
                span.set_attribute("tags", tags)
                span.set_attribute("llmops.prompt.name", "support")
                span.set_attribute("llmops.prompt.version", "v1")
                history: list[dict[str, str]] = []
                for question in turns:
                    reply = answer(client, question, history)
                    history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
        provider.shutdown()
    with open(otlp_path, "w", encoding="utf-8") as handle:
        handle.write(MessageToJson(encode_spans(memory.get_finished_spans())))


if __name__ == "__main__":
    main(*sys.argv[1:5])
