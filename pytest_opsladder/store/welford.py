"""Streaming outlier bounds from the runs seen so far, O(1) memory (ladder level 7).

Each tracked number keeps a count, a running mean and a running sum of squared deviations,
updated by Welford's method (a sum of squares minus n * mean**2 cancels catastrophically for
values around 1e9 and larger, and then the band collapses or widens at random); the accept band
``mean +- z * std`` is recomputed every ``refresh`` values rather than per value, because
sampling a million-line index must cost a few dict lookups and comparisons per line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_NO_BAND = (-math.inf, math.inf)


class OutlierTracker:
    """Which values fall outside ``mean +- z * std`` of the values added before them."""

    def __init__(self, names: tuple[str, ...], z: float, warmup: int, refresh: int = 1000) -> None:
        self.names = names
        self.z = z
        self.warmup = warmup
        self.refresh = max(1, refresh)
        self.n = dict.fromkeys(names, 0)
        self.means = dict.fromkeys(names, 0.0)
        self.m2 = dict.fromkeys(names, 0.0)  # sum of squared deviations from the running mean
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
        delta = value - self.means[name]
        mean = self.means[name] = self.means[name] + delta / n
        self.m2[name] += delta * (value - mean)
        if (n >= self.warmup and n % self.refresh == 0) or n == self.warmup:
            self.bands[name] = self.band(name)

    def merge(self, name: str, values: Sequence[float]) -> None:
        """Add a block of values at once (NaN entries are not values), by Chan et al.'s
        pairwise combination of the block's moments with the running ones: as stable as
        Welford's update, without a Python step per value. Bands are not refreshed here."""
        block = np.asarray(values, dtype=float)
        block = block[~np.isnan(block)]
        if block.size == 0:
            return
        n_a, n_b = self.n[name], int(block.size)
        mean_b = float(block.mean())
        m2_b = float(np.square(block - mean_b).sum())
        delta = mean_b - self.means[name]
        n = self.n[name] = n_a + n_b
        self.means[name] += delta * n_b / n
        self.m2[name] += m2_b + delta * delta * n_a * n_b / n

    def refresh_band(self, name: str) -> None:
        """Recompute the band of ``name`` from the values so far (open during the warm-up)."""
        if self.n[name] >= self.warmup:
            self.bands[name] = self.band(name)

    def band(self, name: str) -> tuple[float, float]:
        n = self.n[name]
        if n < 2:
            return _NO_BAND
        mean = self.means[name]
        half = self.z * math.sqrt(self.m2[name] / (n - 1))
        return (mean - half, mean + half)

    def variance(self, name: str) -> float:
        """The sample variance of the values added so far (NaN below two values)."""
        n = self.n[name]
        return self.m2[name] / (n - 1) if n >= 2 else math.nan
