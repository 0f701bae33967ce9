"""Lumen support assistant: the example application that ``example_suite`` regression-tests.

Nothing heavy is imported here; litellm, jinja2 and PyYAML are loaded by the functions that need them.
"""

from .assistant import Answer, answer
from .retriever import Article, load_articles, retrieve
from .triage import TRIAGE_SCHEMA, triage

__all__ = ["Answer", "Article", "TRIAGE_SCHEMA", "answer", "load_articles", "retrieve", "triage"]
