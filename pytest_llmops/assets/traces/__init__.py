"""Production traces read as conversations: OpenTelemetry GenAI spans, run records, mapped JSONL logs.

Readers turn each source into :class:`~.model.Trace` objects (one conversation: its model calls in order,
the attributes used for filtering, and where it came from); ``select`` filters, samples, redacts and merges
near-duplicates; ``cases`` turns a trace into a golden case.  Writing the golden file and the recordings is
done one layer up (``pytest_llmops.production``), which may also use the call layer's replay keys.
"""
