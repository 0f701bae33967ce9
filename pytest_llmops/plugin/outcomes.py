"""Which exceptions raised inside a test make it an ``error`` (not a failure), and under which error kind."""

from __future__ import annotations

from ..errors import BudgetExceeded, ConfigError, GoldenError, JudgeError, PromptError, ProviderError, RecordingMissing

#: configuration and usage errors: a test (or a sample) raising one is an ``error``, never evidence about the model
USAGE_ERRORS = (ConfigError, PromptError, GoldenError)


def is_usage_error(exc: BaseException) -> bool:
    return isinstance(exc, USAGE_ERRORS)


def error_kind(exc: BaseException) -> str:
    for kind, cls in (("budget", BudgetExceeded), ("recording", RecordingMissing), ("judge", JudgeError),
                      ("provider", ProviderError), ("config", USAGE_ERRORS)):
        if isinstance(exc, cls):
            return kind
    return getattr(exc, "error_kind", "infrastructure")
