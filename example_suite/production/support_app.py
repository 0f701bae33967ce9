"""The support assistant as "production" runs it: the openai SDK (not litellm), any ``support_answer`` version.

Same retrieval, prompt and input guardrail as ``app.assistant`` (BM25 over the help center, the two best
articles above the score floor, PII redacted from the question), but a chat that keeps its history: each
turn sends the system message, the earlier turns, and the new question rendered with its own articles.
``make_traces.py`` ran it under OpenTelemetry to make ``traces.json``; ``test_shadow.py`` replays it (v1)
and runs the candidate (v2) through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import guardrails
from app.assistant import MAX_PROMPT_ARTICLES, MIN_ARTICLE_SCORE, PROMPT_NAME, prompt_registry
from app.retriever import retrieve

MODEL = "smollm2-135m"  # the request model name the local server (and the recordings) know
QUESTION_MARK = "Question: "  # how the support_answer v1 template introduces the question


def render(question: str, version: str = "v1") -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The prompt's messages for ``question`` (PII redacted, articles retrieved) and its params."""
    prompt = prompt_registry().get(PROMPT_NAME, version)
    text = guardrails.check_input(question).text
    articles = [a.for_prompt() for a in retrieve(text, 4) if a.score >= MIN_ARTICLE_SCORE][:MAX_PROMPT_ARTICLES]
    return prompt.render(question=text, articles=articles), dict(prompt.params)


def messages_for(question: str, history: Sequence[dict[str, str]] = (), version: str = "v1"
                 ) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """System message(s), the earlier turns, then this turn's user message (its question and articles)."""
    rendered, params = render(question, version)
    return [*rendered[:-1], *history, rendered[-1]], params


def reply(client: Any, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    response = client.chat.completions.create(model=MODEL, messages=messages, **params)
    return response.choices[0].message.content or ""


def chat_turn(client: Any, question: str, history: list[dict[str, str]], version: str = "v1") -> str:
    """Answer ``question`` after ``history`` and append the turn (the user message sent, the answer) to it."""
    messages, params = messages_for(question, history, version)
    text = reply(client, messages, params)
    history += [messages[-1], {"role": "assistant", "content": text}]
    return text


def replay_turn(client: Any, user_message: str, history: Sequence[dict[str, str]]) -> str:
    """Send a logged v1 user message after ``history`` as production did, with production's stored system
    message: imported traces keep every text PII-redacted, so the system message is redacted the same way."""
    from pytest_llmops.common.pii import redact_pii

    prompt = prompt_registry().get(PROMPT_NAME, "v1")
    system = [{**m, "content": redact_pii(m["content"])} for m in prompt.render(question="", articles=[])[:-1]]
    return reply(client, [*system, *history, {"role": "user", "content": user_message}], dict(prompt.params))


def question_of(user_text: str) -> str:
    """The customer's question inside a logged v1 user message (the text after its last ``Question:``)."""
    return user_text.rsplit(QUESTION_MARK, 1)[-1].strip()
