"""The project's own error types.

Every error a user can cause (bad files, bad options, bad marker arguments) is raised as a subclass of
:class:`LlmopsError` with a message that says what was wrong, where, and what to do.  Errors that come from
the outside world (provider outages, spent budgets, missing recordings) subclass :class:`InfrastructureError`;
a test that ends with one of them is reported as ``error``, never ``failed``, and never counts as a
regression.
"""

from __future__ import annotations


class LlmopsError(Exception):
    """Base class of every error pytest-llmops raises on purpose."""


class ConfigError(LlmopsError):
    """A bad option, ini value or marker argument."""


class ReportError(LlmopsError):
    """A run record that cannot be read, parsed or validated."""


class RecorderError(LlmopsError):
    """A bad value handed to the ``llmops`` recorder (non-finite metric, non-JSON artifact...)."""


class PromptError(LlmopsError):
    """A prompt file, prompt name, version or template variable problem."""


class GoldenError(LlmopsError):
    """A golden-set file problem (parse error, invalid case, duplicate id...)."""


class InfrastructureError(LlmopsError):
    """Something outside the code under test went wrong; the test outcome is ``error``."""


class RecordingError(InfrastructureError):
    """A corrupt or unreadable recording (cassette) file; the test errors, it is never silently re-recorded."""

    error_kind = "recording"


class RecordingMissing(InfrastructureError):
    """Replay-only mode and no recording matches the request."""


class ProviderError(InfrastructureError):
    """The model provider failed (after retries) or refused the request."""


class BudgetExceeded(InfrastructureError):
    """The run-wide cost cap is spent; no further live calls are made."""


class JudgeError(InfrastructureError):
    """The judge model did not return a parseable verdict, even after one repair attempt."""


class SamplingError(InfrastructureError):
    """So many samples of a sampled test errored that too few valid ones remain for a verdict."""

    error_kind = "sampling-errors"
