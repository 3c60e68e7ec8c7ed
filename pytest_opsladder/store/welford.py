"""Streaming outlier bounds from the runs seen so far, O(1) memory (ladder level 7).

Each tracked number keeps a count, a sum and a sum of squares; the accept band
``mean +- z * std`` is recomputed every ``refresh`` values rather than per value, because
sampling a million-line index must cost a few dict lookups and comparisons per line.
"""

from __future__ import annotations

import math

_NO_BAND = (-math.inf, math.inf)


class OutlierTracker:
    """Which values fall outside ``mean +- z * std`` of the values added before them."""

    def __init__(self, names: tuple[str, ...], z: float, warmup: int, refresh: int = 1000) -> None:
        self.names = names
        self.z = z
        self.warmup = warmup
        self.refresh = max(1, refresh)
        self.n = dict.fromkeys(names, 0)
        self.sums = dict.fromkeys(names, 0.0)
        self.squares = dict.fromkeys(names, 0.0)
        self.bands = dict.fromkeys(names, _NO_BAND)

    def outside(self, name: str, value: object, *, upper_only: bool = False) -> bool:
        """Is ``value`` outside the current band of ``name`` (never during the warm-up)?"""
        if not isinstance(value, int | float):
            return False
        low, high = self.bands[name]
        return value > high or (not upper_only and value < low)

    def add(self, name: str, value: object) -> None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return
        n = self.n[name] = self.n[name] + 1
        self.sums[name] += value
        self.squares[name] += value * value
        if (n >= self.warmup and n % self.refresh == 0) or n == self.warmup:
            self.bands[name] = self.band(name)

    def band(self, name: str) -> tuple[float, float]:
        n = self.n[name]
        if n < 2:
            return _NO_BAND
        mean = self.sums[name] / n
        var = max(0.0, (self.squares[name] - n * mean * mean) / (n - 1))
        half = self.z * math.sqrt(var)
        return (mean - half, mean + half)
