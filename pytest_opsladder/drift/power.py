"""Minimum detectable effects of the test that runs, and the suite size that would decide
(ladder level 7).

The MDE is the true degradation at which the gate's *fail* test rejects with the configured
power (0.8), at the shown n, alpha and margin:

- pass/fail, one epoch: exact, from the trinomial distribution of (regressions, improvements)
  and the rejection region of the test that runs (:mod:`.unconditional`). The observed
  discordance (at least one case in n) is the nuisance: a drop delta adds delta to the
  regression rate and takes delta / 4 from the improvement rate, so the discordance grows by
  delta / 2 (as when every case's pass probability of about 0.75 drops by delta; holding the
  improvements fixed would overstate the MDE, holding the discordance fixed understate it).
  Cached per (n, margin, alpha, discordance) cell.
- numeric: simulated. New suites of n cases are resampled from the observed per-case
  degradations, centred at their Hodges-Lehmann estimate and given random signs (the
  signed-rank test's null is symmetry), then degraded: shifted by s on the test scale, or,
  for a metric on a lattice (a count, tie-heavy or not), with a share q of cases one lattice
  step worse (reported as the mean change q x step). The signed-rank statistic of each is
  computed, and s (or q) is searched until the power reaches the target. Past 2,000 cases a
  subsample is simulated and its standardised statistic scaled by sqrt(n / 2000).

``n_decisive`` is the normal-approximation number of cases at which, if the degradation were
what this suite estimates, the gate would reach a decision (pass or fail) with that power.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pytest_opsladder.drift.margin_tests import Array, pratt_z_rows
from pytest_opsladder.drift.unconditional import EXACT_MAX_N, fail_power

_SIM_MAX_N = 2000
_N_DECISIVE_MAX = 10_000_000


@dataclass(frozen=True)
class Mde:
    """An MDE on the test scale (None: not reachable) and how it was found."""

    value: float | None
    method: str


@lru_cache(maxsize=4096)
def binary_mde(n: int, margin: float, alpha: float, discordant: int, power: float) -> Mde:
    """Degradation of the pass rate caught with ``power`` by the exact fail test."""
    if n < 1:
        return Mde(None, "exact")
    base = max(discordant / (2 * n), 0.5 / n)
    method = "exact" if n <= EXACT_MAX_N else "normal"

    def fn(delta: float) -> float:
        p01 = min(max(base - delta / 4, 0.0), (1.0 - delta) / 2)  # p10 + p01 <= 1
        if method == "normal":
            return _tango_normal_power(n, margin, alpha, p01 + delta, p01)
        return fail_power(n, margin, alpha, p01 + delta, p01)

    hi = 1.0 - 1e-9
    if hi <= margin or fn(hi) < power:
        return Mde(None, method)
    lo = margin
    for _ in range(24):  # 2^-24 of the bracket: below any pass-rate resolution
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fn(mid) >= power else (mid, hi)
    return Mde(hi, method)


def _tango_normal_power(n: int, margin: float, alpha: float, p10: float, p01: float) -> float:
    """Power of Tango's test in its normal limit (past EXACT_MAX_N cases, where the test
    itself uses the normal critical value): null variance pi - margin^2, alternative pi -
    delta^2 per case."""
    from scipy.stats import norm

    pi, delta = p10 + p01, p10 - p01
    sd0 = math.sqrt(max(pi - margin**2, 1e-12))
    sd1 = math.sqrt(max(pi - delta**2, 1e-12))
    return float(norm.cdf((math.sqrt(n) * (delta - margin) - norm.isf(alpha) * sd0) / sd1))


def normal_mde(sd: float, n: int, *, alpha: float, power: float) -> float | None:
    """(z_alpha + z_power) x SE: used where the per-case values are averages of K epochs."""
    from scipy.stats import norm

    if n < 2 or not math.isfinite(sd):
        return None
    return float((norm.isf(alpha) + norm.ppf(power)) * sd / math.sqrt(n))


def numeric_mde(x: Array, centre: float, *, alpha: float, power: float, seed: int) -> Mde:
    """Shift beyond the margin (test scale) caught with ``power``; add the margin to it."""
    if x.size < 2 or not np.any(x != x[0]):
        return Mde(None, "constant")
    step = _lattice_step(x)
    if step is not None:  # centre on the lattice, so unchanged cases stay unchanged
        centre = round(centre / step) * step
    rng = np.random.default_rng(seed)
    n_sim = min(x.size, _SIM_MAX_N)
    shape = (32 if n_sim <= 500 else 8, n_sim)
    # the null of the signed-rank test is symmetry about the centre: resample the centred
    # values with random signs, or a chance imbalance of this suite would count as power
    draws = (x - centre)[rng.integers(0, x.size, shape)] * rng.choice([-1.0, 1.0], shape)
    uniform = rng.random(shape)
    scale = math.sqrt(x.size / n_sim)
    if step is not None:
        return _search_share(draws, uniform, step, scale, alpha, power)
    sd = float(np.std(x - centre, ddof=1))
    start = 2 * max(sd, 1e-12) / math.sqrt(x.size)
    return _search(
        lambda s: _power(draws + s, scale, alpha, ties=False), start, power, "simulated_shift"
    )


def _lattice_step(x: Array) -> float | None:
    """The step of a metric that takes few distinct values (a count, or a count averaged over
    K epochs): a location shift would break its ties and look trivially detectable, so it is
    degraded by moving cases one step instead. None for a continuous metric."""
    distinct = np.unique(x)
    if distinct.size < 2 or distinct.size > min(50, x.size // 2):
        return None
    return float(np.min(np.diff(distinct)))


def _power(rows: Array, scale: float, alpha: float, *, ties: bool = True) -> float:
    """Rejection probability of the one-sided signed-rank test, from simulated suites: a
    normal fit to their standardised statistics (scaled up from a subsample past 2,000)."""
    from scipy.stats import norm

    z = pratt_z_rows(rows, ties=ties)
    z_alpha = float(norm.isf(alpha))
    if scale > 1.0:
        return float(norm.cdf(float(z.mean()) * scale - z_alpha))
    spread = max(float(np.std(z, ddof=1)), 0.25)
    return float(norm.cdf((float(z.mean()) - z_alpha) / spread))


def _search(fn: Callable[[float], float], start: float, power: float, method: str) -> Mde:
    lo, hi = 0.0, start
    for _ in range(40):
        if fn(hi) >= power:
            break
        lo, hi = hi, hi * 2
    else:
        return Mde(None, method)
    for _ in range(12):  # 1/4,000 of the bracket: below the Monte Carlo error
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fn(mid) >= power else (mid, hi)
    return Mde(hi, method)


def _search_share(
    draws: Array, uniform: Array, step: float, scale: float, alpha: float, power: float
) -> Mde:
    """Cases moved q steps worse on average (floor(q) each, one more with probability
    frac(q)); the MDE is the mean change q x step."""

    def fn(q: float) -> float:
        whole = math.floor(q)
        return _power(draws + step * (whole + (uniform < q - whole)), scale, alpha)

    found = _search(fn, 1.0, power, "simulated_share")
    return Mde(None if found.value is None else found.value * step, found.method)


def n_decisive(estimate: float, margin: float, sd: float, *, alpha: float, power: float) -> Any:
    """Cases needed for a decision with ``power`` if the degradation were ``estimate``."""
    from scipy.stats import norm

    gap = abs(margin - estimate)
    if not (math.isfinite(gap) and math.isfinite(sd)) or gap <= 1e-12 or sd <= 0:
        return None
    n = math.ceil(((norm.isf(alpha) + norm.ppf(power)) * sd / gap) ** 2)
    return int(n) if n <= _N_DECISIVE_MAX else None
