"""Exact unconditional size and power of the paired pass/fail gate (ladder level 7).

Tango's score statistic is asymptotically normal, but with low discordance (the normal CI case:
a few percent of cases change) its normal critical value exceeds alpha by up to a third at
n = 200. Here the critical value is made exact: the rejection region {Z >= z} has, for each
number d of discordant pairs, a smallest number of regressions b*(d) (Z increases in b at
fixed d), so its probability under any (p10, p01) is a sum over d of binomial terms. The size
is the supremum of that probability over the nuisance discordance on the null boundary
p10 - p01 = margin; the p-value of an observed z is the same supremum at z. The power of the
test that runs, at any alternative, is the same sum: this is what the MDE search uses.
Everything is cached per (n, margin, alpha) cell.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from pytest_opsladder.drift.margin_tests import tango_z

# Above this many cases the normal limit of Tango's statistic is used as is (its size error
# shrinks like 1/sqrt(n p01)), and the exact sums would cost more than they correct.
EXACT_MAX_N = 3000
_NUISANCE_GRID = 32


def first_rejecting_b(n: int, margin: float, z: float, *, upper: bool) -> Any:
    """For d = 0..n discordant pairs: the smallest b with Z(b, d - b) >= z (``upper``), or the
    largest b with Z <= z (lower tail); d + 1 / -1 when no b qualifies. Vectorised bisection."""
    d = np.arange(n + 1)
    lo, hi = np.zeros(n + 1, dtype=np.int64), d + 1  # answer in [lo, hi]; hi = none
    if not upper:
        lo, hi = -np.ones(n + 1, dtype=np.int64), d.copy()
    for _ in range(int(math.log2(n + 2)) + 2):
        if upper:
            mid = (lo + hi) // 2
            ok = tango_z(mid, d - mid, n, margin) >= z
            hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid + 1)
        else:
            mid = (lo + hi + 1) // 2
            ok = (tango_z(mid, d - mid, n, margin) <= z) & (lo < hi)
            lo, hi = np.where(ok, mid, lo), np.where(ok | (lo >= hi), hi, mid - 1)
    return hi if upper else lo


def region_probability(bound: Any, n: int, p10: float, p01: float, *, upper: bool) -> float:
    """P(b >= bound(d)) (upper) or P(b <= bound(d)) under the trinomial (p10, p01)."""
    from scipy.stats import binom

    pi = min(p10 + p01, 1.0)
    if pi <= 0:
        return float((bound[0] <= 0) if upper else (bound[0] >= 0))
    share = min(p10 / pi, 1.0)
    spread = 12.0 * math.sqrt(n * pi * (1 - pi)) + 12.0  # beyond: binomial mass < 1e-30
    lo, hi = max(int(n * pi - spread), 0), min(int(n * pi + spread) + 1, n)
    d = np.arange(lo, hi + 1)
    weights = binom.pmf(d, n, pi)
    cut = bound[lo : hi + 1]
    tail = binom.sf(cut - 1, d, share) if upper else binom.cdf(cut, d, share)
    return float(np.sum(weights * tail))


def boundary_sup(bound: Any, n: int, margin: float, *, upper: bool) -> float:
    """The largest probability of the region on the null boundary p10 - p01 = margin."""
    q_max = (1.0 - margin) / 2
    grid = np.linspace(0.0, q_max, _NUISANCE_GRID)
    probs = [region_probability(bound, n, q + margin, q, upper=upper) for q in grid]
    best = int(np.argmax(probs))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    fine = np.linspace(lo, hi, 9)
    probs += [region_probability(bound, n, q + margin, q, upper=upper) for q in fine]
    return float(min(max(probs), 1.0))


def unconditional_p(z: float, n: int, margin: float, *, upper: bool) -> float:
    """Exact unconditional p-value of an observed Tango z (fail side: upper tail)."""
    bound = first_rejecting_b(n, margin, z - 1e-9 if upper else z + 1e-9, upper=upper)
    return boundary_sup(bound, n, margin, upper=upper)


@lru_cache(maxsize=512)
def critical_z(n: int, margin: float, alpha: float) -> float:
    """The smallest z whose upper region has size <= alpha on the whole null boundary."""
    from scipy.stats import norm

    z_alpha = float(norm.isf(alpha))
    if n > EXACT_MAX_N:
        return z_alpha
    lo, hi = z_alpha - 0.5, z_alpha + 1.5
    for _ in range(13):
        mid = (lo + hi) / 2
        size = boundary_sup(first_rejecting_b(n, margin, mid, upper=True), n, margin, upper=True)
        lo, hi = (lo, mid) if size <= alpha else (mid, hi)
    return hi


@lru_cache(maxsize=512)
def fail_region(n: int, margin: float, alpha: float) -> Any:
    """b*(d) of the fail test that runs: exact McNemar at margin 0, Tango (exact critical value
    up to EXACT_MAX_N cases) otherwise. Cached per (n, margin, alpha) cell."""
    from scipy.stats import binom

    if margin == 0.0:
        d = np.arange(n + 1)
        bstar = binom.ppf(1.0 - alpha, d, 0.5).astype(np.int64) + 1
        bstar = np.where(binom.sf(bstar - 1, d, 0.5) <= alpha, bstar, bstar + 1)
        return np.where(d == 0, 1, bstar)
    return first_rejecting_b(n, margin, critical_z(n, margin, alpha), upper=True)


def fail_power(n: int, margin: float, alpha: float, p10: float, p01: float) -> float:
    """Exact probability that the fail test rejects when regressions/improvements occur at
    rates p10/p01 (degradation p10 - p01)."""
    return region_probability(fail_region(n, margin, alpha), n, p10, p01, upper=True)


@lru_cache(maxsize=512)
def pass_region(n: int, margin: float, alpha: float) -> Any:
    """Largest b per d at which the pass test (H0: degradation >= margin) rejects; -1: none."""
    from scipy.stats import binom, norm

    d = np.arange(n + 1)
    if margin == 0.0:
        top = binom.ppf(alpha, d, 0.5).astype(np.int64)
        top = np.where(binom.cdf(top, d, 0.5) <= alpha, top, top - 1)
        return np.where(d == 0, -1, top)
    if margin >= 1.0:
        return np.where(d < n, d, d - 1)
    z = -float(norm.isf(alpha))
    if n <= EXACT_MAX_N:
        lo, hi = z - 1.5, z + 0.5
        for _ in range(13):
            mid = (lo + hi) / 2
            size = boundary_sup(first_rejecting_b(n, margin, mid, upper=False), n, margin,
                                upper=False)  # fmt: skip
            lo, hi = (mid, hi) if size <= alpha else (lo, mid)
        z = lo
    return first_rejecting_b(n, margin, z, upper=False)
