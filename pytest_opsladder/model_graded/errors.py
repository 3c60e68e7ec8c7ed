"""Errors of model-graded checks (ladder level 7).

    OpsladderError
    ├── ConfigError
    │   └── JudgeConfigError        a judge check is malformed: rubric missing or empty, a
    │                               scale without a threshold, an unknown provider
    └── JudgeError                  a judge call gave no usable verdict (the check is an error)
        ├── JudgeUnavailableError   the judge server could not be reached or refused the call
        ├── JudgeReplyError         the reply was not JSON, had no score, a score that is
        │                           not a finite number, or one out of range
        └── JudgeNotRecordedError   replay needs a judge call the cassette does not hold
                                    (never recorded, or stale: rubric, model or output changed)

A :class:`JudgeError` never passes a check: the case gets an ``error`` result naming the check.
"""

from __future__ import annotations

from pytest_opsladder.exceptions import ConfigError, OpsladderError


class JudgeConfigError(ConfigError):
    """A judge check's configuration is invalid; ``check`` names it."""

    def __init__(self, message: str, *, check: str | None = None) -> None:
        super().__init__(f"judge check {check!r}: {message}" if check else message)
        self.check = check


class JudgeError(OpsladderError):
    """A judge call gave no usable verdict; ``check`` names the judge check."""

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(f"judge {check!r}: {message}")
        self.check = check


class JudgeUnavailableError(JudgeError):
    """The judge model could not be reached, or answered with an HTTP error."""


class JudgeReplyError(JudgeError):
    """The judge answered, but not with ``{"score": ..., "reason": ...}`` in range."""


class JudgeNotRecordedError(JudgeError):
    """Replay needs a judge call that the cassette does not hold, or holds for other inputs."""
