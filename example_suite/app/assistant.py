"""Answer a customer question from the Lumen help center (retrieve → prompt → model → guardrails)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import guardrails, llm
from .retriever import Article, retrieve

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
PROMPT_NAME = "support_answer"
MAX_PROMPT_ARTICLES = 2  # the small model has a 2k-token context and runs on two CPU cores
MIN_ARTICLE_SCORE = 2.5  # weaker BM25 matches are noise; below it the model sees "no articles"
EMPTY_ANSWER = "Sorry, I couldn't find an answer to that. Please contact support@lumen.example."


@dataclass(frozen=True)
class Answer:
    text: str  # what the customer sees, after output guardrails
    sources: tuple[str, ...]  # ids of the articles shown to the model
    retrieved: tuple[Article, ...]  # all top-k retrieval results, best first
    raw: str  # the model's text before guardrails ("" when no model call was made)
    prompt: dict[str, Any]  # name, version, hash of the prompt version used
    model: str
    flags: tuple[str, ...] = ()  # guardrail events, e.g. "prompt_injection", "pii_in_input", "truncated"

    @property
    def retrieved_ids(self) -> list[str]:
        return [a.id for a in self.retrieved]


@lru_cache(maxsize=1)
def prompt_registry() -> Any:
    from pytest_llmops.assets.prompts import PromptRegistry

    return PromptRegistry(PROMPTS_DIR)


def answer(question: str, *, prompt_version: str | None = None, model: str | None = None, k: int = 4) -> Answer:
    """Answer ``question`` with the ``support_answer`` prompt (its current version unless one is given)."""
    prompt = prompt_registry().get(PROMPT_NAME, prompt_version)
    prompt_info = {"name": prompt.name, "version": prompt.version, "hash": prompt.short_hash}
    model_name = llm.resolve_model(model, prompt.model)
    guarded = guardrails.check_input(question)

    if "prompt_injection" in guarded.flags:
        return Answer(guardrails.INJECTION_REFUSAL, (), (), "", prompt_info, model_name, tuple(guarded.flags))

    retrieved = retrieve(guarded.text, k)
    context = [a for a in retrieved if a.score >= MIN_ARTICLE_SCORE][:MAX_PROMPT_ARTICLES]
    messages = prompt.render(question=guarded.text, articles=[a.for_prompt() for a in context])
    raw = llm.complete(messages, model=model_name, stream=True, metadata={"prompt": prompt_info}, **prompt.params)

    output = guardrails.check_output(raw)
    text = output.text or EMPTY_ANSWER
    flags = guarded.flags + output.flags + ([] if output.text else ["empty_answer"])
    return Answer(text, tuple(a.id for a in context), tuple(retrieved), raw, prompt_info, model_name, tuple(flags))
