"""The Lumen help agent: a tool-using path (search the help center, open an article, create a ticket, answer).

SmolLM2's llama.cpp server does not return native ``tool_calls`` (it ignores ``tools=``), so every step asks
the model for its tool choice as JSON-schema-constrained output (``response_format={"type": "json_object",
"schema": CHOICE_SCHEMA}``).  The app runs the chosen tool and writes the step back into the conversation the
standard way — an assistant message with ``tool_calls`` and a ``role: tool`` message with the result — so
the next request carries it and pytest-llmops derives the trajectory from the recorded calls, with no
instrumentation here.  At most :data:`MAX_TOOL_STEPS` tools run per question (:data:`CHAT_TOOL_STEPS` per
conversation turn); then one last call must answer.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .llm import DEFAULT_API_BASE, resolve_model
from .retriever import load_articles, retrieve

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
PROMPT_NAME = "agent"
TOOLS = ("search_help_center", "open_article", "create_ticket")
MAX_TOOL_STEPS = 2
REQUEST_TIMEOUT_S = 180.0  # schema-constrained decoding of the local model is slow on a busy CPU
#: a conversation turn may use one tool before it answers (keeps a turn at two model calls)
CHAT_TOOL_STEPS = 1
CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"tool": {"type": "string", "enum": [*TOOLS, "answer"]}, "argument": {"type": "string"}},
    "required": ["tool", "argument"],
}
ANSWER_SCHEMA: dict[str, Any] = {**CHOICE_SCHEMA, "properties": {
    "tool": {"type": "string", "enum": ["answer"]}, "argument": {"type": "string"}}}
#: the argument name each tool's call carries in the conversation (and in the trajectory)
ARGUMENT_NAMES = {"search_help_center": "query", "open_article": "article_id", "create_ticket": "summary"}


@dataclass
class AgentReply:
    text: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


@lru_cache(maxsize=1)
def _articles() -> dict[str, Any]:
    return {a.id: a for a in load_articles()}


def run_tool(tool: str, argument: str) -> str:
    """Execute one tool; the result is the text the model sees next."""
    if tool == "search_help_center":
        hits = retrieve(argument, 3)
        return "; ".join(f"{a.id}: {a.title}" for a in hits) or "no articles found"
    if tool == "open_article":
        article = _articles().get(argument.strip().strip("[]").lower())
        return f"{article.id} {article.title}: {article.body[:280]}" if article else f"no article {argument!r}"
    ticket = 1000 + zlib.crc32(argument.encode("utf-8")) % 9000
    return f"ticket T-{ticket} created"


def _choose(messages: list[dict[str, Any]], model: str, params: dict[str, Any],
            schema: dict[str, Any]) -> dict[str, str]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    response = litellm.completion(
        model=model, messages=messages, response_format={"type": "json_object", "schema": schema},
        api_base=os.environ.get("SUPPORT_BOT_API_BASE", DEFAULT_API_BASE),
        api_key=os.environ.get("SUPPORT_BOT_API_KEY", "sk-local-not-secret"), timeout=REQUEST_TIMEOUT_S, **params,
    )
    content = response.choices[0].message.content or ""
    try:
        choice = json.loads(content)
    except ValueError:  # cut off by max_tokens: what was written is the answer
        return {"tool": "answer", "argument": content, "raw": content}
    if not isinstance(choice, dict) or choice.get("tool") not in (*TOOLS, "answer"):
        return {"tool": "answer", "argument": str(choice), "raw": content}
    return {"tool": choice["tool"], "argument": str(choice.get("argument") or ""), "raw": content}


@lru_cache(maxsize=1)
def prompt_registry() -> Any:
    from pytest_llmops.assets.prompts import PromptRegistry

    return PromptRegistry(PROMPTS_DIR)


def agent_version() -> str | None:
    """``LUMEN_AGENT_PROMPT_VERSION`` (the review demo runs v2 with it), else the prompt's current version."""
    return os.environ.get("LUMEN_AGENT_PROMPT_VERSION") or None


def run_agent(question: str, history: list[dict[str, Any]] | None = None, *, prompt_version: str | None = None,
              model: str | None = None, max_tool_steps: int = MAX_TOOL_STEPS) -> AgentReply:
    """Answer ``question`` (after the earlier turns in ``history``), using tools as the model chooses."""
    prompt = prompt_registry().get(PROMPT_NAME, prompt_version or agent_version())
    rendered = list(prompt.render(question=question))
    messages = [rendered[0], *(history or []), *rendered[1:]]
    model_name = resolve_model(model, prompt.model)
    reply = AgentReply("")
    for step in range(max_tool_steps + 1):
        schema = CHOICE_SCHEMA if step < max_tool_steps else ANSWER_SCHEMA
        choice = _choose(messages, model_name, dict(prompt.params), schema)
        if choice["tool"] == "answer":
            reply.text = choice["argument"].strip() or "Sorry, I could not find an answer."
            break
        call_id = f"call_{len(history or [])}_{step}"
        arguments = {ARGUMENT_NAMES[choice["tool"]]: choice["argument"]}
        result = run_tool(choice["tool"], choice["argument"])
        messages.append({"role": "assistant", "content": choice["raw"], "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": choice["tool"], "arguments": json.dumps(arguments)}}]})
        messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
        reply.steps.append({"tool": choice["tool"], "arguments": arguments, "result": result})
    reply.messages = messages
    return reply


def chat(message: str, history: list[dict[str, str]]) -> str:
    """One conversation turn for the ``conversation`` fixture: earlier turns are plain user/assistant text."""
    return run_agent(message, history, max_tool_steps=CHAT_TOOL_STEPS).text
