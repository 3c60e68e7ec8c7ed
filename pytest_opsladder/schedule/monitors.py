"""Monitors (ladder level 1): what a job promises: when it runs, and how long it may take.

A monitor has a schedule (``every`` seconds, or ``cron`` in an IANA ``timezone``), a ``grace``
for lateness, an optional ``max_runtime`` for a started run, and alert thresholds: alert after
``failure_threshold`` consecutive bad outcomes (fail, missed, timed out), resolve after
``recovery_threshold`` consecutive successes.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pytest_opsladder.modes import _ChoiceEnum
from pytest_opsladder.schedule.errors import ScheduleConfigError
from pytest_opsladder.schedule.expected import Schedule, parse_duration

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class ReceiptKind(_ChoiceEnum):
    """What a job reports: it started, it succeeded, it failed."""

    START = "start"
    SUCCESS = "success"
    FAIL = "fail"


class Outcome(_ChoiceEnum):
    """How one expected run turned out, as ``monitors check`` counts it."""

    OK = "ok"
    FAILING = "failing"
    MISSED = "missed"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Monitor:
    """A job's promise. Build with :meth:`create`, which validates every field."""

    name: str
    cron: str | None = None
    every: float | None = None
    timezone: str = "UTC"
    grace: float = 300.0
    max_runtime: float | None = None
    failure_threshold: int = 1
    recovery_threshold: int = 1

    @classmethod
    def create(cls, name: str, **fields: Any) -> Monitor:
        """Validate and normalise (durations like ``'15m'`` become seconds)."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ScheduleConfigError(
                f"monitor name {name!r} is invalid: use 1-100 letters, digits, '_', '.', '-' "
                "(it appears in URLs and alert titles)."
            )
        for key in ("grace", "every", "max_runtime"):
            if fields.get(key) is not None:
                fields[key] = parse_duration(fields[key], setting=f"{name}: {key}")
        monitor = cls(name=name, **fields)
        monitor._check_texts()
        monitor.schedule()  # validates cron / every / timezone
        monitor._check_thresholds()
        return monitor

    def _check_texts(self) -> None:
        for key, value in (("cron", self.cron), ("timezone", self.timezone)):
            if not (isinstance(value, str) or (key == "cron" and value is None)):
                raise ScheduleConfigError(
                    f"monitor {self.name!r}: {key} {value!r} must be a string, e.g. "
                    "cron='30 2 * * *', timezone='Europe/Berlin'."
                )

    def _check_thresholds(self) -> None:
        for key in ("failure_threshold", "recovery_threshold"):
            value = getattr(self, key)
            if type(value) is not int or value < 1:  # a bool is not a count
                raise ScheduleConfigError(
                    f"monitor {self.name!r}: {key} {value!r} must be a whole number >= 1 "
                    "(1 alerts or resolves on the first outcome)."
                )

    def schedule(self) -> Schedule:
        return Schedule(cron=self.cron, every=self.every, tz=self.timezone)

    @property
    def runtime_limit(self) -> float:
        """How long a started run may stay open: ``max_runtime``, else the grace."""
        return self.max_runtime if self.max_runtime is not None else self.grace

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> Monitor:
        """The monitor a stored definition describes; anything but a valid JSON object of
        its fields (a list, a string, a number, null) raises :class:`ScheduleConfigError`."""
        if not isinstance(raw, dict):
            raise ScheduleConfigError(
                f"a monitor definition must be a JSON object of its fields, not "
                f"{type(raw).__name__} {str(raw)[:60]!r}."
            )
        known = set(cls.__dataclass_fields__) - {"name"}
        unknown = sorted(set(raw) - known - {"name"})
        if unknown:
            raise ScheduleConfigError(
                f"monitor {raw.get('name')!r} has unknown field(s) {unknown}; valid fields: "
                f"{sorted(known)}."
            )
        return cls.create(raw.get("name", ""), **{k: v for k, v in raw.items() if k != "name"})
