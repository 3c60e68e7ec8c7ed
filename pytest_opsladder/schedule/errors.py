"""Errors of the schedule rung (ladder level 1).

OpsladderError
└── ConfigError
    └── ScheduleConfigError       a bad cron expression, timezone, duration or sink
        └── MonitorNotFoundError  a receipt or command named a monitor nobody created
"""

from __future__ import annotations

from pytest_opsladder.exceptions import ConfigError


class ScheduleConfigError(ConfigError):
    """A monitor, schedule, duration or sink setting is invalid."""


class MonitorNotFoundError(ScheduleConfigError):
    """A monitor name that is not in the state file."""

    def __init__(self, message: str, *, monitor: str) -> None:
        super().__init__(message)
        self.monitor = monitor
