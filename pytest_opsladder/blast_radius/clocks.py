"""Clocks for the blast-radius controls (ladder level 6): injectable, so tests never sleep.

Breakers and in-process limiters measure intervals on a monotonic clock, so a wall-clock jump
(NTP step, DST, an operator's ``date -s``) can neither open nor close anything early.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]

monotonic: Clock = time.monotonic


class ManualClock:
    """A clock that moves only when told to: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward (or, to simulate a wall-clock step back, backward) by ``seconds``."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, value: float) -> None:
        self._now = value

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
