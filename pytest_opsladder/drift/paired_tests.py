"""Paired tests and effect sizes for drift scoring (ladder level 7), one value per case.

scipy runs every test it has (binomtest for exact McNemar, wilcoxon, permutation_test, fisher,
mannwhitneyu); this module adds only what scipy lacks: the Hodges-Lehmann shift with its
distribution-free interval, the matched-pairs rank-biserial, a seeded cluster bootstrap, the
minimum detectable effect, and the Holm and Benjamini-Hochberg adjustments. Inputs are numpy
arrays of per-case values with NaN already dropped by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pytest_opsladder.drift.adjust import benjamini_hochberg, holm

__all__ = ["benjamini_hochberg", "holm"]  # re-exported with the tests they adjust

Array = NDArray[np.floating[Any]]
# Beyond this many cases the Walsh averages (n^2/2 of them) are sampled (250,000, seeded).
_WALSH_EXACT_MAX = 700
_WALSH_SAMPLE = 250_000
# Beyond this many cases the bootstrap is replaced by its normal limit (same SE across cases).
_BOOTSTRAP_MAX = 5000


@dataclass
class TestResult:
    """What a test found: statistic, p-value and the test-specific numbers for ``extra``."""

    test: str
    statistic: float
    p_value: float
    extra: dict[str, Any] = field(default_factory=dict)


def mcnemar_exact(b: int, c: int, *, n: int, margin: float = 0.0, one_sided: bool) -> TestResult:
    """Exact McNemar on discordant pairs: b regressions, c improvements.

    With a margin the null is "pass rate dropped by at most ``margin``": conditional on the b + c
    discordant pairs, b is binomial with p = (d + n*margin) / (2d) at the null's boundary (the
    discordance rate plugged in). With margin 0 this is scipy's exact McNemar (p = 1/2).
    """
    from scipy.stats import binomtest

    d = b + c
    extra = {"b_regressions": int(b), "c_improvements": int(c)}
    if d == 0:
        return TestResult("mcnemar_exact", 0.0, 1.0, extra)
    p0 = 0.5 if not one_sided else (d + n * margin) / (2 * d)
    if p0 >= 1.0:  # the margin allows every discordant pair to be a regression
        return TestResult("mcnemar_exact", float(b), 1.0, {**extra, "null_p": 1.0})
    alternative = "greater" if one_sided else "two-sided"
    res = binomtest(int(b), int(d), p=p0, alternative=alternative)
    return TestResult("mcnemar_exact", float(b), float(res.pvalue), {**extra, "null_p": p0})


def wilcoxon_shift(x: Array, *, one_sided: bool) -> TestResult:
    """Wilcoxon signed-rank that ``x`` (per-case differences minus margin) is centred above 0.

    ``zero_method="zsplit"``: cases that did not change are evidence of no change, so their
    ranks are split between the signs instead of dropped ("wilcox" would drop them and call a
    suite where 3 of 100 cases moved significant).
    """
    from scipy.stats import wilcoxon

    if x.size == 0 or not np.any(x != 0):
        return TestResult("wilcoxon", 0.0, 1.0, {"zero_method": "zsplit"})
    alternative = "greater" if one_sided else "two-sided"
    res = wilcoxon(x, zero_method="zsplit", alternative=alternative)
    return TestResult(
        "wilcoxon", float(res.statistic), float(res.pvalue), {"zero_method": "zsplit"}
    )


def sign_flip(x: Array, *, one_sided: bool, seed: int) -> TestResult:
    """Sign-flip permutation test of the mean of ``x``: exact up to 16 cases, 9,999 seeded
    flips up to 2,000, and past that the normal limit of the randomisation distribution of
    sum(s_i x_i) (mean 0, variance sum x_i^2), accurate far below any alpha in use.

    The p-value conventions are scipy.stats.permutation_test's (same tolerance, the +1 of a
    Monte Carlo p-value, two-sided as twice the smaller tail); the flips are drawn here,
    vectorised, because the generic implementation costs ~40 ms a call in a self-check loop.
    """
    from scipy.stats import norm

    if x.size == 0 or not np.any(x != 0):
        return TestResult("sign_flip_permutation", 0.0, 1.0, {})
    observed = float(x.mean())
    if x.size > 2000:
        z = float(x.sum() / math.sqrt(float(np.sum(x * x))))
        p = float(norm.sf(z)) if one_sided else float(min(1.0, 2 * norm.sf(abs(z))))
        return TestResult("sign_flip_permutation", observed, p, {"method": "normal"})
    exact = x.size <= 16
    null = _flip_means(x, seed, exact)
    gamma = _tie_tolerance(x, observed)
    adjust = 0 if exact else 1
    greater = (np.sum(null >= observed - gamma) + adjust) / (null.size + adjust)
    less = (np.sum(null <= observed + gamma) + adjust) / (null.size + adjust)
    p = float(greater) if one_sided else float(min(1.0, 2 * min(greater, less)))
    method = "exact" if exact else "monte_carlo_9999"
    return TestResult("sign_flip_permutation", observed, p, {"method": method})


def sign_flip_tails(x: Array, *, seed: int) -> tuple[float, float, str]:
    """Both one-sided p-values of :func:`sign_flip` (greater, less) from one null draw: the
    gate's fail and pass tests of the same shifted differences."""
    from scipy.stats import norm

    if x.size == 0 or not np.any(x != 0):
        return 1.0, 1.0, "no_change"
    observed = float(x.mean())
    if x.size > 2000:
        z = float(x.sum() / math.sqrt(float(np.sum(x * x))))
        return float(norm.sf(z)), float(norm.cdf(z)), "normal"
    exact = x.size <= 16
    null = _flip_means(x, seed, exact)
    gamma = _tie_tolerance(x, observed)
    adjust = 0 if exact else 1
    greater = (np.sum(null >= observed - gamma) + adjust) / (null.size + adjust)
    less = (np.sum(null <= observed + gamma) + adjust) / (null.size + adjust)
    return float(greater), float(less), "exact" if exact else "monte_carlo_9999"


def _tie_tolerance(x: Array, observed: float) -> float:
    """How far a flipped mean may sit from the observed one and still be the same value.

    scipy scales its tolerance by the observed statistic alone; when the mean is near 0
    (0.0009 from terms of size 1) the rounding of a 10-term sum is larger than that, and the
    identity flip itself stopped counting as a tie. The tolerance here scales with the terms.
    """
    return float(np.finfo(float).eps * 100 * max(abs(observed), float(np.mean(np.abs(x)))))


def _flip_means(x: Array, seed: int, exact: bool) -> Array:
    """Means of x under every sign pattern (exact) or 9,999 random ones."""
    if exact:
        codes = np.arange(2**x.size)[:, None] >> np.arange(x.size)[None, :]
        signs = 1.0 - 2.0 * (codes & 1)
    else:
        rng = np.random.default_rng(seed)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(9999, x.size))
    return np.asarray(signs @ x / x.size)


def walsh_averages(d: Array, seed: int = 0) -> Array:
    """All pairwise means (d_i + d_j)/2, i <= j; a seeded sample of them past 700 cases."""
    n = d.size
    if n <= _WALSH_EXACT_MAX:
        i, j = np.triu_indices(n)
        return np.asarray((d[i] + d[j]) / 2.0)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, _WALSH_SAMPLE)
    j = rng.integers(0, n, _WALSH_SAMPLE)
    return np.asarray((d[i] + d[j]) / 2.0)


def hodges_lehmann(d: Array, *, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Hodges-Lehmann shift with its Wilcoxon-inverted (distribution-free) confidence interval."""
    from scipy.stats import norm

    n = d.size
    if n == 0:
        return math.nan, math.nan, math.nan
    walsh = walsh_averages(d, seed)
    m = n * (n + 1) / 2
    z = float(norm.ppf(0.5 + level / 2))
    k = m / 2 - z * math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    q = min(max(k / m, 0.0), 0.5)
    lo, mid, hi = np.quantile(walsh, [q, 0.5, 1 - q])
    return float(mid), float(lo), float(hi)


def rank_biserial(d: Array) -> float:
    """Matched-pairs rank-biserial: (R+ - R-) / (R+ + R-) over non-zero differences."""
    from scipy.stats import rankdata

    nz = d[d != 0]
    if nz.size == 0:
        return 0.0
    ranks = rankdata(np.abs(nz))
    total = float(ranks.sum())
    return float((ranks[nz > 0].sum() - ranks[nz < 0].sum()) / total)


def pct_change_median(base: Array, cand: Array) -> float | None:
    """Relative change of the median, or None when the baseline median is 0."""
    mb = float(np.median(base)) if base.size else math.nan
    if base.size == 0 or mb == 0:
        return None
    return (float(np.median(cand)) - mb) / abs(mb)


def mean_ci(
    d: Array, *, level: float = 0.95, seed: int = 0, n_boot: int = 2000
) -> tuple[float, float]:
    """Cluster (case) bootstrap percentile interval of the mean per-case difference.

    Each case is one cluster: its epochs were reduced to one value before this point, so
    resampling cases resamples clusters. Past 5000 cases the normal limit is used instead.
    """
    from scipy.stats import norm

    n = d.size
    if n < 2:
        return math.nan, math.nan
    if n > _BOOTSTRAP_MAX or not np.any(d != d[0]):
        se = float(np.std(d, ddof=1)) / math.sqrt(n)
        z = float(norm.ppf(0.5 + level / 2))
        return float(d.mean()) - z * se, float(d.mean()) + z * se
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    means = d[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def mde(se: float, *, alpha: float, power: float = 0.8) -> float:
    """Minimum detectable effect of a one-sided test at ``alpha`` with ``power``: (z_a + z_b) SE."""
    from scipy.stats import norm

    return float((norm.ppf(1 - alpha) + norm.ppf(power)) * se)


def fisher_unpaired(pass_b: int, n_b: int, pass_c: int, n_c: int) -> TestResult:
    """Fallback when runs cannot be paired: Fisher's exact test on the 2x2 pass/fail table."""
    from scipy.stats import fisher_exact

    res = fisher_exact([[pass_b, n_b - pass_b], [pass_c, n_c - pass_c]])
    return TestResult("fisher_exact", float(res.statistic), float(res.pvalue), {})


def mann_whitney_unpaired(base: Array, cand: Array) -> TestResult:
    """Fallback for unpaired numeric samples (cases seen on one side only)."""
    from scipy.stats import mannwhitneyu

    if base.size == 0 or cand.size == 0 or np.all(np.concatenate([base, cand]) == base[0]):
        return TestResult("mann_whitney_u", math.nan, 1.0, {})
    res = mannwhitneyu(cand, base, alternative="two-sided")
    return TestResult("mann_whitney_u", float(res.statistic), float(res.pvalue), {})
