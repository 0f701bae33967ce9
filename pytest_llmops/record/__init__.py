"""The run record: its pydantic models, the per-test recorder, the run collector, aggregates, reading and writing.

The bottom of the house: every feature writes into a test's record, and review reads whole run records.
"""
