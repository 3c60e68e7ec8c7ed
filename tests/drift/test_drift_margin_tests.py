"""The margin tests against scipy and brute force, and their size at the margin (issue 21).

Size at the margin is checked two ways for pass/fail: exactly, by summing the trinomial
distribution of (regressions, improvements) over the rejection region of the test that runs
(tied to the public p-values case by case), and by Monte Carlo with a Clopper-Pearson bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import minimize_scalar
from scipy.special import gammaln

from pytest_opsladder.drift import margin_tests as mt
from pytest_opsladder.drift import unconditional as uc
from pytest_opsladder.drift.simulate import clopper_pearson

ALPHA = 0.01


def test_signed_rank_is_scipys_exact_wilcoxon_without_ties() -> None:
    x = np.random.default_rng(1).normal(0.3, 1.0, 25)
    got = mt.signed_rank(x)
    assert got.extra["method"] == "exact"
    greater = stats.wilcoxon(x, alternative="greater", method="exact").pvalue
    less = stats.wilcoxon(x, alternative="less", method="exact").pvalue
    assert got.fail == pytest.approx(greater, rel=1e-9)
    assert got.pass_ == pytest.approx(less, rel=1e-9)


def test_pratt_with_zeros_and_ties_is_the_exact_sign_flip_distribution() -> None:
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 2.0, -1.0, 3.0, 1.0, 0.0, 2.0, -2.0])

    def pratt(v, axis):
        ranks = stats.rankdata(np.abs(v), axis=axis)
        return np.sum(np.sign(v) * ranks, axis=axis)

    for alternative, got in (
        ("greater", mt.signed_rank(x).fail),
        ("less", mt.signed_rank(x).pass_),
    ):
        want = stats.permutation_test(
            (x,), pratt, permutation_type="samples", n_resamples=np.inf,
            alternative=alternative, vectorized=True,
        ).pvalue  # fmt: skip
        assert got == pytest.approx(want, rel=1e-9)


def test_pratt_normal_limit_matches_scipy_and_ignores_zeros_in_the_variance() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate([np.zeros(300), rng.integers(-2, 4, 400).astype(float)])
    got = mt.signed_rank(x)
    assert got.extra["method"] == "normal"
    want = stats.wilcoxon(x, zero_method="pratt", correction=True, alternative="greater")
    assert got.fail == pytest.approx(want.pvalue, rel=1e-6)
    less = stats.wilcoxon(x, zero_method="pratt", correction=True, alternative="less")
    assert got.pass_ == pytest.approx(less.pvalue, rel=1e-6)


def test_twelve_extra_tool_calls_in_100_cases_is_the_exact_sign_test() -> None:
    """The audit's tie case: zsplit gave p = 0.016; the exact test gives 2^-12."""
    x = np.concatenate([np.ones(12), np.zeros(88)])
    got = mt.signed_rank(x)
    assert got.fail == pytest.approx(0.5**12, rel=1e-9)
    assert got.fail < ALPHA


def test_tango_at_margin_0_is_the_asymptotic_mcnemar_and_its_mle_is_the_restricted_one() -> None:
    assert float(mt.tango_z(9, 4, 100, 0.0)) == pytest.approx(5 / math.sqrt(13), rel=1e-12)
    b, c, n, delta = 14, 3, 120, 0.05

    def nll(q: float) -> float:  # multinomial likelihood with p10 = q + delta, p01 = q
        return -(
            b * math.log(q + delta) + c * math.log(q) + (n - b - c) * math.log(1 - 2 * q - delta)
        )

    q = minimize_scalar(nll, bounds=(1e-9, (1 - delta) / 2 - 1e-9), method="bounded",
                        options={"xatol": 1e-12}).x  # fmt: skip
    want = (b - c - n * delta) / math.sqrt(n * (2 * q + delta * (1 - delta)))
    assert float(mt.tango_z(b, c, n, delta)) == pytest.approx(want, rel=1e-6)


def test_margin_0_keeps_the_exact_conditional_mcnemar() -> None:
    res = mt.paired_binary(9, 2, n=80, margin=0.0)
    assert res.test == "mcnemar_exact"
    assert res.fail == pytest.approx(stats.binomtest(9, 11, alternative="greater").pvalue)
    assert res.pass_ == pytest.approx(stats.binomtest(9, 11, alternative="less").pvalue)


def test_upper_bound_inverts_the_pass_test() -> None:
    bound = mt.tango_upper_bound(10, 4, n=200, alpha=ALPHA)
    z = float(mt.tango_z(10, 4, 200, bound))
    assert stats.norm.cdf(z) == pytest.approx(ALPHA, rel=1e-6)
    assert 6 / 200 < bound < 0.2


def _trinomial(n: int, p10: float, p01: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = b + c <= n
    rest = np.where(ok, n - b - c, 0)
    logp = (gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(rest + 1)
            + b * np.log(p10) + c * np.log(p01) + rest * np.log1p(-p10 - p01))  # fmt: skip
    return b, c, np.where(ok, np.exp(logp), 0.0)


@pytest.mark.parametrize("n", [200, 1000])
@pytest.mark.parametrize("discordance", [0.12, 0.32])
@pytest.mark.parametrize("margin", [0.05, 0.10])
def test_pass_fail_size_at_the_margin_is_at_most_alpha(n, discordance, margin) -> None:
    p10, p01 = (discordance + margin) / 2, (discordance - margin) / 2  # true drop = margin
    fail_at, pass_at = uc.fail_region(n, margin, ALPHA), uc.pass_region(n, margin, ALPHA)
    rng = np.random.default_rng(n)
    for _ in range(6):  # the regions are the public test's decisions
        d = int(rng.integers(int(n * discordance * 0.6), int(n * discordance * 1.4)))
        b = int(rng.integers(0, d + 1))
        res = mt.paired_binary(b, d - b, n=n, margin=margin)
        assert (res.fail < ALPHA) == (b >= fail_at[d])
        assert (res.pass_ < ALPHA) == (b <= pass_at[d])
    b, c, prob = _trinomial(n, p10, p01)
    d = np.minimum(b + c, n)  # cells with b + c > n have probability 0
    exact_fail = float(prob[b >= fail_at[d]].sum())
    exact_pass = float(prob[b <= pass_at[d]].sum())
    assert exact_fail <= ALPHA
    assert exact_pass <= ALPHA
    sims = 100_000  # Monte Carlo, as an outside check would do
    draws = rng.multinomial(n, [p10, p01, 1 - p10 - p01], size=sims)
    dd = draws[:, 0] + draws[:, 1]
    limit = ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    for hits in (int(np.sum(draws[:, 0] >= fail_at[dd])), int(np.sum(draws[:, 0] <= pass_at[dd]))):
        assert clopper_pearson(hits, sims)[1] <= limit


def test_the_old_plug_in_mcnemar_exceeded_alpha_where_this_test_does_not() -> None:
    """Audit case: drop = margin = 0.10 with regression/improvement rates 0.13/0.03, n=1,000."""
    n, margin = 1000, 0.10
    b, c, prob = _trinomial(n, 0.13, 0.03)
    d = np.minimum(b + c, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.clip((d + n * margin) / (2 * np.maximum(d, 1)), 0, 1)
    plug_in = (d > 0) & (stats.binom.sf(b - 1, np.maximum(d, 1), p0) < ALPHA) & (p0 < 1)
    assert float(prob[plug_in].sum()) > 1.5 * ALPHA  # the old test: about 0.02
    assert float(prob[b >= uc.fail_region(n, margin, ALPHA)[np.minimum(d, n)]].sum()) <= ALPHA
