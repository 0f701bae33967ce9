"""Lumen's support assistant as deployed: an openai-SDK app whose OpenTelemetry spans became the production set."""
