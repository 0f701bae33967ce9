"""pytest-llmops: regression tests for LLM applications, inside plain pytest.

Public names are imported lazily, so ``import pytest_llmops`` (and loading the plugin) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "assert_similar": "pytest_llmops.scorers.similarity",
    "similarity": "pytest_llmops.scorers.similarity",
    "assert_retrieval": "pytest_llmops.scorers.retrieval",
    "retrieval_scores": "pytest_llmops.scorers.retrieval",
    "assert_json_schema": "pytest_llmops.scorers.guardrails",
    "assert_max_length": "pytest_llmops.scorers.guardrails",
    "assert_no_banned": "pytest_llmops.scorers.guardrails",
    "assert_refusal": "pytest_llmops.scorers.guardrails",
    "assert_not_refusal": "pytest_llmops.scorers.guardrails",
    "is_refusal": "pytest_llmops.scorers.guardrails",
    "assert_no_pii": "pytest_llmops.scorers.pii",
    "find_pii": "pytest_llmops.scorers.pii",
    "redact_pii": "pytest_llmops.scorers.pii",
    "assert_grounded": "pytest_llmops.scorers.grounding",
    "grounding_score": "pytest_llmops.scorers.grounding",
    "assert_trajectory": "pytest_llmops.scorers.trajectory",
    "match_trajectory": "pytest_llmops.scorers.trajectory",
    "tool_call_scores": "pytest_llmops.scorers.trajectory",
    "approx": "pytest_llmops.scorers.trajectory_values",
    "regex": "pytest_llmops.scorers.trajectory_values",
    "anything": "pytest_llmops.scorers.trajectory_values",
    "simulate_user": "pytest_llmops.scorers.simulate",
    "Conversation": "pytest_llmops.scorers.conversation",
    "pass_at_k": "pytest_llmops.sampling.passk",
    "pass_hat_k": "pytest_llmops.sampling.passk",
    "record_metric": "pytest_llmops.record.recorder",
    "current_test": "pytest_llmops.record.recorder",
    "aggregate": "pytest_llmops.record.aggregates",
    "LlmopsError": "pytest_llmops.errors",
    "ConfigError": "pytest_llmops.errors",
    "GoldenError": "pytest_llmops.errors",
    "PromptError": "pytest_llmops.errors",
    "ReportError": "pytest_llmops.errors",
    "RecordingError": "pytest_llmops.errors",
    "RecordingMissing": "pytest_llmops.errors",
    "ProviderError": "pytest_llmops.errors",
    "BudgetExceeded": "pytest_llmops.errors",
    "JudgeError": "pytest_llmops.errors",
    "InfrastructureError": "pytest_llmops.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmops' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
