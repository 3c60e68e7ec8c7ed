"""Clocks for the runtime controls (ladder levels 1-3): the real one, and one tests move by hand.

Every control takes ``clock: Callable[[], float]`` returning epoch seconds (``time.time`` in
production). :class:`ManualClock` is that callable for tests: it only moves when told, so a
test of "one hour later" or "the lock expired" never sleeps.
"""

from __future__ import annotations

import datetime as dt
import threading

EPOCH_START = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def to_datetime(epoch: float) -> dt.datetime:
    """An aware UTC datetime for epoch seconds."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def to_epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is a naive datetime; give an aware one (e.g. tzinfo=UTC)")
    return moment.timestamp()


class ManualClock:
    """A thread-safe clock that reads ``start`` until advanced: ``clock()`` is epoch seconds."""

    def __init__(self, start: dt.datetime | float = EPOCH_START) -> None:
        self._now = to_epoch(start) if isinstance(start, dt.datetime) else float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def now(self) -> dt.datetime:
        return to_datetime(self())

    def advance(self, seconds: float = 0.0, **delta: float) -> float:
        """Move forward by ``seconds`` (plus ``minutes=``/``hours=``/``days=``); returns now."""
        step = seconds + dt.timedelta(**delta).total_seconds()
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: dt.datetime | float) -> None:
        with self._lock:
            self._now = to_epoch(moment) if isinstance(moment, dt.datetime) else float(moment)

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"
