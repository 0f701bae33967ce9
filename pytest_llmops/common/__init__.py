"""Small pure helpers every package may use: atomic file writes, canonical JSON, number checks, secrets, PII."""
