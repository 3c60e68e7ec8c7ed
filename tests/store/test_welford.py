"""The outlier tracker's running variance (level 7 sampling): Welford's update, not sums of
squares."""

from __future__ import annotations

import math
import statistics

import pytest

from pytest_opsladder.store.welford import OutlierTracker


def _naive_variance(values: list[float]) -> float:
    """The formula the tracker used before: sum of squares minus n * mean**2, clamped at 0."""
    n = len(values)
    mean = sum(values) / n
    return max(0.0, (sum(v * v for v in values) - n * mean * mean) / (n - 1))


def _track(values: list[float]) -> OutlierTracker:
    tracker = OutlierTracker(("latency",), z=3.0, warmup=2, refresh=1)
    for value in values:
        tracker.add("latency", value)
    return tracker


def test_variance_of_values_around_1e9_matches_the_exact_variance() -> None:
    values = [1e9 + offset for offset in (4.0, 7.0, 13.0, 16.0) * 250]
    exact = statistics.variance(values)  # exact rational arithmetic on the floats
    assert _naive_variance(values) != pytest.approx(exact, rel=1e-6)  # the old formula fails
    assert _track(values).variance("latency") == pytest.approx(exact, rel=1e-9)


def test_band_around_1e9_flags_a_real_outlier_and_keeps_the_ordinary() -> None:
    tracker = _track([1e9 + offset for offset in (4.0, 7.0, 13.0, 16.0) * 250])
    assert not tracker.outside("latency", 1e9 + 10.0)
    assert tracker.outside("latency", 1e9 + 40.0)


def test_variance_is_nan_below_two_values_and_the_band_open() -> None:
    tracker = _track([5.0])
    assert math.isnan(tracker.variance("latency"))
    assert tracker.band("latency") == (-math.inf, math.inf)


def test_a_merged_block_gives_the_moments_of_adding_one_by_one() -> None:
    values = [1e9 + (i * 7919 % 101) / 3 for i in range(2500)]
    one_by_one = _track(values)
    blocks = OutlierTracker(("latency",), z=3.0, warmup=2, refresh=1)
    for start in range(0, 2500, 1000):
        blocks.merge("latency", [*values[start : start + 1000], math.nan])  # NaN: not a value
    assert blocks.n["latency"] == 2500
    assert blocks.means["latency"] == pytest.approx(one_by_one.means["latency"], rel=1e-12)
    assert blocks.variance("latency") == pytest.approx(statistics.variance(values), rel=1e-9)
