"""Input and output guardrails of the support assistant.

Input: refuse prompt-injection attempts before any model call, and redact personal data (emails, phone
numbers, card numbers...) so it never reaches the model provider.  Output: redact personal data the model
produced and cap the answer length.  PII detection comes from ``pytest_llmops.scorers.pii`` (imported
lazily, the app has no second implementation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_ANSWER_CHARS = 600

_INJECTION_PATTERNS = [
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your)\b.{0,20}"
    r"\b(instructions?|rules|prompts?|guidelines|directions)\b",
    r"\b(your|the)\s+(system|developer|hidden|initial)\s+(prompt|message|instructions)\b",
    r"\byou are now\b|\bact as\b.{0,30}\b(unrestricted|jailbroken|dan)\b",
    r"\b(developer|debug|god|jailbreak|dan)\s+mode\b",
    r"\bpretend (you|to be)\b.{0,40}\b(no|without)\b.{0,20}\b(rules|restrictions|limits)\b",
    r"\b(reveal|print|repeat|leak|output)\b.{0,20}\byour\s+(instructions|system message|prompt|rules)\b",
]
_INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE | re.DOTALL)

INJECTION_REFUSAL = (
    "Sorry, I can't do that. I can only help with questions about using Lumen, for example your account, "
    "billing, sync or integrations."
)


@dataclass
class GuardedText:
    text: str
    flags: list[str] = field(default_factory=list)


def detect_injection(text: str) -> bool:
    """True when ``text`` tries to override the assistant's instructions."""
    return _INJECTION_RE.search(text) is not None


def redact(text: str, flag: str) -> GuardedText:
    from pytest_llmops.scorers.pii import find_pii, redact_pii

    if not find_pii(text):
        return GuardedText(text)
    return GuardedText(redact_pii(text), [flag])


def check_input(question: str) -> GuardedText:
    """Redacted question plus flags (``prompt_injection``, ``pii_in_input``)."""
    guarded = redact(question.strip(), "pii_in_input")
    if detect_injection(question):
        guarded.flags.insert(0, "prompt_injection")
    return guarded


def check_output(text: str, max_chars: int = MAX_ANSWER_CHARS) -> GuardedText:
    """Redact PII in a model answer and cut it to ``max_chars`` at a sentence (or word) boundary."""
    guarded = redact(text.strip(), "pii_in_output")
    if len(guarded.text) > max_chars:
        head = guarded.text[:max_chars]
        sentence_end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "), head.rfind("\n"))
        if sentence_end >= max_chars // 2:
            guarded.text = head[: sentence_end + 1].rstrip()
        else:
            guarded.text = head.rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
        guarded.flags.append("truncated")
    return guarded
