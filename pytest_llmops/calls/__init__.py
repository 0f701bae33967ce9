"""The model-call layer: capture (litellm), replay keys, recordings, the call engine, metering, budgets, retries."""
