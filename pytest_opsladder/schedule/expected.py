"""When a job is expected (ladder level 1): intervals, and cron in an IANA timezone, DST-safe.

A cron expression is evaluated on the monitor's local wall clock, and each expected local time
becomes a :class:`Slot` in UTC with the instant its window ``opens`` and the instant it is
``due`` (the deadline is ``due`` + grace):

- a local time skipped by spring-forward (02:30 on the day clocks jump 02:00 -> 03:00) opens at
  the jump (as cron daemons run such jobs right after it) and is due at the same wall time on
  the old offset, so a job run either way satisfies it and the day is never skipped;
- a local time repeated by fall-back is one slot spanning both occurrences for a job with a
  fixed hour (it runs once), and two slots for an hour wildcard (an hourly job runs every real
  hour).

A receipt satisfies the first slot whose window opened at or before it; a receipt received
before a window opens does not satisfy that window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pytest_opsladder.schedule.errors import ScheduleConfigError

UTC = dt.UTC
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
MAX_DURATION_S = 366 * 86400.0  # the longest interval, grace or max_runtime a monitor may have


def parse_duration(value: str | float, *, setting: str) -> float:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``.

    Refuses what would make a dead man's switch wait forever or never: a bool, NaN, infinity,
    a negative, anything over :data:`MAX_DURATION_S` (a row read as ``"grace": Infinity`` or
    ``1e300`` must not silence the monitor), and anything that is not a number or a string.
    """
    seconds = _duration_seconds(value)
    if seconds is None or not 0 <= seconds <= MAX_DURATION_S:
        raise ScheduleConfigError(
            f"{setting} {value!r} is not a duration; write seconds (900) or a number with a "
            "unit: ms, s, m, h, d (e.g. '15m', '2h'), from 0 up to 366d."
        )
    return seconds


def _duration_seconds(value: object) -> float | None:
    """The seconds ``value`` says, or None; NaN and infinity come out as themselves."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) or abs(value) < 2**64 else None
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return None if match is None else float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(frozen=True, order=True)
class Slot:
    """One expected run: its window ``opens`` and it is ``due`` (epoch seconds, UTC)."""

    opens: float
    due: float


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleConfigError(
            f"timezone {name!r} is not an IANA timezone name (like 'Europe/Berlin' or 'UTC'); "
            "check the spelling, and install tzdata where the system has no zone database."
        ) from exc


class Schedule:
    """An interval (seconds) or a cron expression in a timezone; yields slots after a time."""

    def __init__(self, *, cron: str | None = None, every: float | None = None, tz: str = "UTC"):
        if (cron is None) == (every is None):
            raise ScheduleConfigError(
                "a monitor needs exactly one schedule: cron='0 2 * * *' or every=<seconds>, "
                f"got cron={cron!r}, every={every!r}."
            )
        self.cron, self.every, self.tz_name = cron, every, tz
        self.tz = zone(tz)
        if every is not None and every <= 0:
            raise ScheduleConfigError(f"every={every!r} must be more than 0 seconds.")
        if cron is not None:
            _check_cron(cron)

    def next_slot(self, after: float) -> Slot:
        """The first slot whose window opens strictly after ``after`` (epoch seconds)."""
        if self.every is not None:
            return Slot(after + self.every, after + self.every)
        for slot in self._cron_slots(after):
            if slot.opens > after:
                return slot
        raise AssertionError("unreachable: croniter yields forever")  # pragma: no cover

    def _cron_slots(self, after: float) -> Iterator[Slot]:
        from croniter import croniter

        assert self.cron is not None
        start = dt.datetime.fromtimestamp(after, UTC).astimezone(self.tz).replace(tzinfo=None)
        times = croniter(self.cron, start - dt.timedelta(hours=3))
        wildcard_hour = _hour_is_wildcard(self.cron)
        while True:
            naive: dt.datetime = times.get_next(dt.datetime)
            yield from _slots_for(naive, self.tz, wildcard_hour)

    def describe(self) -> str:
        return f"every {self.every:g}s" if self.every else f"cron {self.cron!r} in {self.tz_name}"


def _check_cron(expr: str) -> None:
    from croniter import croniter

    if not croniter.is_valid(expr):
        raise ScheduleConfigError(
            f"cron expression {expr!r} is invalid; use five fields 'minute hour day month "
            "weekday' (e.g. '30 2 * * *' for 02:30 daily) or @hourly/@daily/@weekly."
        )


def _hour_is_wildcard(expr: str) -> bool:
    fields = expr.split()
    return expr.strip() == "@hourly" or (len(fields) >= 2 and "*" in fields[1])


def _slots_for(naive: dt.datetime, tz: ZoneInfo, wildcard_hour: bool) -> list[Slot]:
    first = naive.replace(tzinfo=tz, fold=0).timestamp()
    second = naive.replace(tzinfo=tz, fold=1).timestamp()
    if first == second:
        return [Slot(first, first)]
    if _exists(naive, tz, first):  # repeated by fall-back: first < second
        return (
            [Slot(first, first), Slot(second, second)] if wildcard_hour else [Slot(first, second)]
        )
    # skipped by spring-forward: fold=1 reads before the jump, fold=0 after it
    return [Slot(_transition(second, first, tz), first)]


def _exists(naive: dt.datetime, tz: ZoneInfo, stamp: float) -> bool:
    back = dt.datetime.fromtimestamp(stamp, UTC).astimezone(tz).replace(tzinfo=None)
    return back == naive


def _transition(before: float, after: float, tz: ZoneInfo) -> float:
    """The instant the UTC offset changes between ``before`` and ``after`` (whole seconds)."""
    lo, hi = int(before), int(after)
    offset = dt.datetime.fromtimestamp(lo, UTC).astimezone(tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == offset:
            lo = mid
        else:
            hi = mid
    return float(hi)
