"""Errors of the schedule rung (ladder level 1).

OpsladderError
├── ConfigError
│   └── ScheduleConfigError       a bad cron expression, timezone, duration or sink
│       └── MonitorNotFoundError  a receipt or command named a monitor nobody created
└── MonitorStateError             the state file is missing, corrupt, not a file, unreadable
                                  or full: nothing was checked (fails loud, never "all up")
"""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.exceptions import ConfigError, OpsladderError


class ScheduleConfigError(ConfigError):
    """A monitor, schedule, duration or sink setting is invalid."""


class MonitorNotFoundError(ScheduleConfigError):
    """A monitor name that is not in the state file."""

    def __init__(self, message: str, *, monitor: str) -> None:
        super().__init__(message)
        self.monitor = monitor


class MonitorStateError(OpsladderError):
    """The monitors' state file cannot be used; ``path`` is the file."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path
