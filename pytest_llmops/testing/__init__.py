"""Test servers: a loopback OpenAI-compatible server with fault injection, and the local SmolLM2 launcher."""
