"""Errors of ladder level 6 (blast radius).

OpsladderError
├── ConfigError
│   └── BlastRadiusConfigError      a limit, breaker, environment or pause setting is wrong
└── BlastRadiusError                a call was stopped to keep the damage small
    ├── CircuitOpenError            the tool's breaker is open (or its probes are taken)
    ├── RateLimitedError            the tool/workflow used up its budget
    ├── LimiterStoreError           the limiter's store is down and the limiter fails closed
    ├── PausedError                 the global pause is on (or its state is unreadable)
    ├── PauseStateError             pause/resume could not write the state it was asked to
    └── EnvironmentViolationError   a credential or target of another environment
        └── CredentialScopeError    a credential this workflow/environment may not read
"""

from __future__ import annotations

from pytest_opsladder.exceptions import ConfigError, OpsladderError


class BlastRadiusConfigError(ConfigError):
    """A blast-radius setting is invalid."""


class BlastRadiusError(OpsladderError):
    """A call was blocked by a blast-radius control."""


class CircuitOpenError(BlastRadiusError):
    """The breaker refused the call without calling the tool."""

    def __init__(self, message: str, *, breaker: str, retry_after: float) -> None:
        super().__init__(message)
        self.breaker = breaker
        self.retry_after = retry_after


class RateLimitedError(BlastRadiusError):
    """The rate limit refused the call; nothing was consumed."""

    def __init__(self, message: str, *, key: str, retry_after: float) -> None:
        super().__init__(message)
        self.key = key
        self.retry_after = retry_after


class LimiterStoreError(BlastRadiusError):
    """The limiter's shared store could not be reached and the limiter fails closed."""


class PausedError(BlastRadiusError):
    """The global pause is on: side-effecting calls are refused until ``opsladder resume``."""


class PauseStateError(BlastRadiusError):
    """``pause`` could record the pause nowhere, or ``resume`` left a copy that reads paused."""


class EnvironmentViolationError(BlastRadiusError):
    """A run reached for a target or credential that belongs to another environment."""


class CredentialScopeError(EnvironmentViolationError):
    """A workflow asked for a credential outside its scope."""
