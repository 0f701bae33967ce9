"""Scorers: guardrails, PII, retrieval metrics, embedding similarity, grounding and the LLM-as-judge."""
