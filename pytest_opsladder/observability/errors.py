"""Errors of observability (ladder level 3); each names what was wrong, why, and the fix.

OpsladderError
└── ConfigError
    └── ObservabilityConfigError    an exporter was set up with something it cannot export to
"""

from __future__ import annotations

from pytest_opsladder.exceptions import ConfigError


class ObservabilityConfigError(ConfigError):
    """An exporter argument is not what it accepts; ``argument`` and ``given`` name it."""

    def __init__(self, message: str, *, argument: str, given: object) -> None:
        super().__init__(message)
        self.argument = argument
        self.given = given
