"""Tests that hold their size at a non-zero margin, in both directions (ladder level 7).

The gate asks two one-sided questions of every gated metric: is the degradation significantly
*above* the margin (fail), and is it significantly *below* it (pass, non-inferiority). Both
nulls sit at the margin itself, so the test must be valid there, not only at zero:

- paired pass/fail, one epoch: Tango's score test (Tango 1998) on the discordant pairs; it
  estimates the nuisance discordance under the null instead of plugging in the observed one
  (the margin-shifted conditional McNemar does that and exceeds alpha at the boundary). With
  margin 0 the exact conditional McNemar (binomial on the b + c discordant pairs) is used.
- numeric: the signed-rank test on ``degradation - margin`` with Pratt's zero handling
  (zeros are ranked, then carry no sign): its exact sign-flip distribution up to a size budget,
  the normal limit with the conditional variance (sum of squared ranks) and a continuity
  correction beyond. This is the
  Wilcoxon signed-rank test wherever there are no zeros; with zeros it does not count them in
  the variance (``zsplit`` did, and lost most of its power on tie-heavy counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating[Any]]
# Exact sign-flip distribution while (non-zero cases) x (sum of doubled ranks) stays under this.
_EXACT_BUDGET = 4_000_000


@dataclass(frozen=True)
class TwoSided:
    """The two one-sided p-values of a margin test: ``fail`` (H0: degradation <= margin) and
    ``pass_`` (H0: degradation >= margin), with the statistic and the test's name."""

    test: str
    statistic: float
    fail: float
    pass_: float
    extra: dict[str, Any]


# -- paired pass/fail --------------------------------------------------------------------------
def tango_z(b: Any, c: Any, n: int, margin: float) -> Any:
    """Tango's score statistic for H0: p10 - p01 = margin, b ~ p10 (regressions), c ~ p01.

    The restricted MLE of p01 under the null is the positive root of
    2n q^2 + B q + C = 0, B = -b - c + (2n - b + c) margin, C = -c margin (1 - margin); the
    variance of (b - c) / n under the null is (2q + margin (1 - margin)) / n. Vectorised.
    """
    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    big_b = -b - c + (2 * n - b + c) * margin
    big_c = -c * margin * (1 - margin)
    q = (-big_b + np.sqrt(np.maximum(big_b * big_b - 8 * n * big_c, 0.0))) / (4 * n)
    var = n * (2 * q + margin * (1 - margin))
    num = b - c - n * margin
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    return z


def paired_binary(b: int, c: int, *, n: int, margin: float) -> TwoSided:
    """Both one-sided p-values for b regressions and c improvements among n paired cases."""
    extra: dict[str, Any] = {"b_regressions": int(b), "c_improvements": int(c)}
    if margin == 0.0:
        return _mcnemar_both(b, c, extra)
    if margin >= 1.0:  # a drop of 100 points cannot be exceeded; anything short of it is below
        return TwoSided("tango_score", math.nan, 1.0, 0.0 if b < n else 1.0, extra)
    from scipy.stats import norm

    from pytest_opsladder.drift.unconditional import EXACT_MAX_N, unconditional_p

    z = float(tango_z(b, c, n, margin))
    if n > EXACT_MAX_N:
        return TwoSided("tango_score", z, float(norm.sf(z)), float(norm.cdf(z)), extra)
    fail = unconditional_p(z, n, margin, upper=True)
    pass_ = unconditional_p(z, n, margin, upper=False)
    return TwoSided("tango_score_exact", z, fail, pass_, extra | {"method": "exact_unconditional"})


def _mcnemar_both(b: int, c: int, extra: dict[str, Any]) -> TwoSided:
    """Exact conditional McNemar: B ~ Bin(b + c, 1/2) given the discordant pairs."""
    from scipy.stats import binom

    d = b + c
    if d == 0:
        return TwoSided("mcnemar_exact", 0.0, 1.0, 1.0, extra | {"null_p": 0.5})
    fail = float(binom.sf(b - 1, d, 0.5))
    pass_ = float(binom.cdf(b, d, 0.5))
    return TwoSided("mcnemar_exact", float(b), min(fail, 1.0), min(pass_, 1.0), extra)


def tango_upper_bound(b: int, c: int, *, n: int, alpha: float) -> float:
    """One-sided upper confidence bound (level 1 - alpha) of p10 - p01: the largest margin the
    pass test cannot reject, by bisection (Tango's statistic decreases in the margin)."""
    from scipy.stats import norm

    if n == 0:
        return math.nan
    target = -float(norm.isf(alpha))
    lo, hi = (b - c) / n, 1.0 - 1e-12
    if float(tango_z(b, c, n, hi)) > target:
        return 1.0
    for _ in range(40):  # 2^-40 of the bracket
        mid = (lo + hi) / 2
        if float(tango_z(b, c, n, mid)) > target:
            lo = mid
        else:
            hi = mid
    return hi


# -- numeric: signed ranks with Pratt's zeros --------------------------------------------------
def pratt_statistic(x: Array) -> tuple[float, Array]:
    """W = sum of sign(x_i) * rank(|x_i|) (zeros ranked, unsigned) and the non-zero ranks."""
    from scipy.stats import rankdata

    ranks = rankdata(np.abs(x))
    nz = x != 0
    return float(np.sum(np.sign(x[nz]) * ranks[nz])), np.asarray(ranks[nz], dtype=float)


def signed_rank(x: Array) -> TwoSided:
    """Both one-sided p-values that ``x`` (degradation minus margin) is centred above / below 0."""
    w, ranks = pratt_statistic(x)
    if ranks.size == 0:
        return TwoSided("wilcoxon_pratt", 0.0, 1.0, 1.0, {"method": "no_change"})
    doubled = np.rint(2 * ranks).astype(np.int64)  # average ranks are multiples of 1/2
    if ranks.size * int(doubled.sum()) <= _EXACT_BUDGET:
        greater, less = _exact_tails(doubled, round(2 * w))
        method = "exact"
    else:
        greater, less = _normal_tails(w, ranks)
        method = "normal"
    extra = {"method": method, "zero_method": "pratt", "n_nonzero": int(ranks.size)}
    return TwoSided("wilcoxon_pratt", w, greater, less, extra)


def _exact_tails(doubled: NDArray[np.int64], w2: int) -> tuple[float, float]:
    """P(W >= w) and P(W <= w) under independent sign flips, by convolution of the doubled
    ranks: U = sum of the ranks given a + sign, W = 2U - total (all in doubled units)."""
    total = int(doubled.sum())
    dist = np.ones(1)
    for r in doubled.tolist():  # the support grows with each rank: half the work of full arrays
        grown = np.zeros(dist.size + r)
        grown[: dist.size] += dist
        grown[r:] += dist
        dist = 0.5 * grown
    w_values = 2 * np.arange(total + 1) - total
    greater = float(dist[w_values >= w2].sum())
    less = float(dist[w_values <= w2].sum())
    return min(greater, 1.0), min(less, 1.0)


def _normal_tails(w: float, ranks: Array) -> tuple[float, float]:
    """Normal tails with a continuity correction of 1 (W moves in steps of 2 ranks' worth of
    half-units; scipy's ``correction=True``): errs towards the conservative side."""
    from scipy.stats import norm

    sd = math.sqrt(float(np.sum(ranks * ranks)))
    return float(norm.sf((w - 1.0) / sd)), float(norm.cdf((w + 1.0) / sd))


def pratt_z_rows(x: Array, *, ties: bool = True) -> Array:
    """The standardised Pratt statistic of every row of ``x`` (for power simulations);
    ``ties=False`` ranks by position (twice as fast, for continuous values)."""
    from scipy.stats import rankdata

    if ties:
        ranks = rankdata(np.abs(x), axis=1)
    else:
        order = np.argsort(np.abs(x), axis=1)
        ranks = np.empty_like(x)
        np.put_along_axis(ranks, order, np.arange(1, x.shape[1] + 1, dtype=float)[None, :], axis=1)
    signed = np.sign(x) * ranks
    var = np.sum(np.where(x != 0, ranks * ranks, 0.0), axis=1)
    w = signed.sum(axis=1)
    return np.asarray(np.where(var > 0, w / np.sqrt(np.where(var > 0, var, 1.0)), 0.0))


def walsh_upper_bound(walsh: Array, n: int, alpha: float) -> float:
    """One-sided (1 - alpha) upper confidence bound of the centre of symmetry, by inverting the
    signed-rank test (normal critical value) over the Walsh averages."""
    from scipy.stats import norm

    if n == 0 or walsh.size == 0:
        return math.nan
    m = n * (n + 1) / 2
    k = m / 2 - float(norm.isf(alpha)) * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    q = min(max(1.0 - k / m, 0.5), 1.0)
    return float(np.quantile(walsh, q))
