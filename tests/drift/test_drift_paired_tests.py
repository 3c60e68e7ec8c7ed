"""The statistics match scipy (or a brute-force computation) to machine precision where exact."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift.distances import (
    MatchMode,
    edit_distance,
    js_distance,
    text_distance,
    trajectory_batch,
    trajectory_distance,
    tv_distance,
)
from pytest_opsladder.drift.stats_labels import _js_permutation


def _rng(seed: int = 7) -> np.random.Generator:
    """A generator per test: with pytest-randomly's order a shared module one gave each test
    different data on each run (one order produced a near-zero mean and a flaky failure)."""
    return np.random.default_rng(seed)


@pytest.mark.parametrize(("b", "c"), [(6, 0), (5, 2), (3, 3), (0, 4), (12, 5)])
def test_mcnemar_exact_is_the_binomial_test_on_discordant_pairs(b: int, c: int) -> None:
    one = pt.mcnemar_exact(b, c, n=40, one_sided=True)
    two = pt.mcnemar_exact(b, c, n=40, one_sided=False)
    # P(B >= b) under Bin(b + c, 1/2), summed by hand
    tail = sum(math.comb(b + c, k) for k in range(b, b + c + 1)) / 2 ** (b + c)
    assert one.p_value == pytest.approx(tail, rel=1e-12)
    assert two.p_value == pytest.approx(stats.binomtest(b, b + c).pvalue, rel=1e-12)
    assert one.extra == {"b_regressions": b, "c_improvements": c, "null_p": 0.5}


def test_mcnemar_with_margin_shifts_the_null_and_no_discordance_is_p_1() -> None:
    plain = pt.mcnemar_exact(6, 1, n=40, one_sided=True)
    margin = pt.mcnemar_exact(6, 1, n=40, margin=0.05, one_sided=True)
    assert margin.extra["null_p"] == pytest.approx((7 + 40 * 0.05) / 14)
    assert margin.p_value == pytest.approx(
        stats.binomtest(6, 7, p=(7 + 2) / 14, alternative="greater").pvalue, rel=1e-12
    )
    assert margin.p_value > plain.p_value
    assert pt.mcnemar_exact(0, 0, n=40, one_sided=True).p_value == 1.0
    assert pt.mcnemar_exact(2, 0, n=40, margin=0.1, one_sided=True).p_value == 1.0


def test_wilcoxon_is_scipys_with_zsplit() -> None:
    x = np.array([0.0, 0.0, 1.0, 2.0, -1.0, 3.0, 0.5, 4.0, 0.0, 2.5])
    got = pt.wilcoxon_shift(x, one_sided=True)
    want = stats.wilcoxon(x, zero_method="zsplit", alternative="greater")
    assert got.p_value == want.pvalue
    assert got.statistic == want.statistic
    assert pt.wilcoxon_shift(np.zeros(8), one_sided=True).p_value == 1.0


@pytest.mark.parametrize("seed", [7, 4])  # 4: mean 0.00085, below the rounding of the sum
def test_sign_flip_exact_matches_enumeration(seed: int) -> None:
    x = _rng(seed).normal(0.2, 1.0, 10)
    flips = np.array(list(itertools.product([-1.0, 1.0], repeat=x.size)))
    null = (flips * x).mean(axis=1)
    p_enum = float(np.mean(null >= x.mean() - 1e-12))
    got = pt.sign_flip(x, one_sided=True, seed=0)
    assert got.p_value == pytest.approx(p_enum, abs=1e-12)
    assert got.extra["method"] == "exact"


@pytest.mark.parametrize("one_sided", [True, False])
def test_sign_flip_exact_equals_scipy_permutation_test(one_sided: bool) -> None:
    x = _rng().normal(0.3, 1.0, 12)
    got = pt.sign_flip(x, one_sided=one_sided, seed=0)
    want = stats.permutation_test(
        (x,),
        lambda v, axis: np.mean(v, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf,
        alternative="greater" if one_sided else "two-sided",
    )
    assert got.p_value == pytest.approx(want.pvalue, abs=1e-12)


def test_sign_flip_monte_carlo_agrees_with_scipy_within_mc_error() -> None:
    x = _rng().normal(0.25, 1.0, 40)
    got = pt.sign_flip(x, one_sided=True, seed=0)
    want = stats.permutation_test(
        (x,),
        lambda v, axis: np.mean(v, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=99_999,
        alternative="greater",
        rng=np.random.default_rng(1),
    )
    assert got.extra["method"] == "monte_carlo_9999"
    assert (
        abs(got.p_value - want.pvalue)
        < 4 * math.sqrt(want.pvalue * (1 - want.pvalue) / 9999) + 1e-4
    )


def test_sign_flip_large_n_uses_the_normal_limit() -> None:
    x = _rng().normal(0.0, 1.0, 3000)
    got = pt.sign_flip(x, one_sided=True, seed=0)
    z = x.sum() / math.sqrt(float((x * x).sum()))
    assert got.p_value == pytest.approx(stats.norm.sf(z), rel=1e-12)


def test_hodges_lehmann_is_the_median_of_walsh_averages() -> None:
    d = _rng().normal(1.0, 2.0, 25)
    walsh = [(d[i] + d[j]) / 2 for i in range(d.size) for j in range(i, d.size)]
    est, lo, hi = pt.hodges_lehmann(d)
    assert est == pytest.approx(float(np.median(walsh)), abs=1e-12)
    assert lo < est < hi


def test_rank_biserial_by_hand() -> None:
    d = np.array([1.0, -2.0, 3.0, 0.0, 4.0])
    # ranks of |d| over non-zero: 1, 2, 3, 4; positive 1+3+4=8, negative 2
    assert pt.rank_biserial(d) == pytest.approx((8 - 2) / 10)
    assert pt.rank_biserial(np.zeros(4)) == 0.0


def test_holm_and_bh_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.5]
    assert pt.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    # step-up: raw 0.01*4/1, 0.03*4/2, 0.04*4/3, 0.5; then running minimum from the top
    assert pt.benjamini_hochberg(p) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_cluster_bootstrap_is_seeded_and_covers_the_mean() -> None:
    d = _rng().normal(-0.1, 0.3, 60)
    lo, hi = pt.mean_ci(d, seed=3)
    assert (lo, hi) == pt.mean_ci(d, seed=3)
    assert lo < d.mean() < hi


def test_mde_is_z_alpha_plus_z_power_times_se() -> None:
    assert pt.mde(0.1, alpha=0.01) == pytest.approx((2.3263478740408408 + 0.8416212335729143) * 0.1)


def test_unpaired_fallbacks_are_scipys() -> None:
    assert pt.fisher_unpaired(9, 10, 3, 10).p_value == stats.fisher_exact([[9, 1], [3, 7]]).pvalue
    b, c = _rng(11).normal(0, 1, 12), _rng(12).normal(1, 1, 9)
    assert pt.mann_whitney_unpaired(b, c).p_value == stats.mannwhitneyu(c, b).pvalue
    assert pt.mann_whitney_unpaired(np.ones(5), np.ones(5)).p_value == 1.0


def test_js_and_tv_distances_match_scipy() -> None:
    p, q = np.array([0.7, 0.2, 0.1, 0.0]), np.array([0.1, 0.2, 0.3, 0.4])
    assert float(js_distance(p, q)) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert float(js_distance(p, p)) == 0.0
    assert float(tv_distance(p, q)) == pytest.approx(0.6)


def test_js_permutation_agrees_with_exact_enumeration() -> None:
    cats = np.eye(3)
    base = cats[[0, 0, 1, 0, 2, 0, 1, 0, 0, 1]]
    cand = cats[[1, 0, 1, 2, 2, 1, 1, 0, 2, 1]]
    observed = float(js_distance(base.mean(0), cand.mean(0)))
    diff, mid = cand - base, (base + cand).mean(0) / 2
    flips = np.array(list(itertools.product([-1.0, 1.0], repeat=10)))
    half = flips @ diff / 20
    exact = float(np.mean(js_distance(mid + half, mid - half) >= observed - 1e-12))
    p, n_perm = _js_permutation(base, cand, observed, seed=1)
    assert abs(p - exact) < 3 * math.sqrt(exact * (1 - exact) / n_perm) + 1 / n_perm


@pytest.mark.parametrize(
    ("mode", "cand", "base", "want"),
    [
        (MatchMode.STRICT, ["a", "b"], ["a", "b"], 0.0),
        (MatchMode.STRICT, ["b", "a"], ["a", "b"], 1.0),
        (MatchMode.STRICT, ["a", "b", "c"], ["a", "c"], 1 / 3),
        (MatchMode.UNORDERED, ["b", "a"], ["a", "b"], 0.0),
        (MatchMode.UNORDERED, ["a", "a"], ["a", "b"], 0.5),
        (MatchMode.SUBSET, ["a"], ["a", "b"], 0.0),
        (MatchMode.SUBSET, ["a", "x"], ["a", "b"], 0.5),
        (MatchMode.SUPERSET, ["a", "b", "c"], ["a", "b"], 0.0),
        (MatchMode.SUPERSET, ["a"], ["a", "b"], 0.5),
    ],
)
def test_trajectory_match_modes(mode, cand, base, want) -> None:
    assert trajectory_distance(mode)(cand, base) == pytest.approx(want)


def test_edit_and_text_distance_edges() -> None:
    assert edit_distance([], []) == 0.0
    assert edit_distance(["a"], []) == 1.0
    assert text_distance("refund issued", "refund issued") == 0.0
    assert 0 < text_distance("refund issued", "refund denied") < 1
    with pytest.raises(ValueError, match="strict, unordered, subset, superset"):
        MatchMode.parse("fuzzy")


@pytest.mark.parametrize("mode", list(MatchMode))
def test_vectorised_trajectory_distance_equals_the_scalar_one(mode: MatchMode) -> None:
    rng = np.random.default_rng(11)
    seqs = [list(rng.choice(["a", "b", "c", "d"], size=int(rng.integers(0, 7)))) for _ in range(40)]
    keys = ["\x1f".join(s) for s in seqs]
    i, j = rng.integers(0, 40, 300), rng.integers(0, 40, 300)
    got = trajectory_batch(mode)(keys, i, j)
    want = [trajectory_distance(mode)(seqs[a], seqs[b]) for a, b in zip(i, j, strict=True)]
    assert got == pytest.approx(want, abs=1e-12)


def test_dense_and_merge_noise_floor_paths_agree() -> None:
    import pandas as pd

    from pytest_opsladder.drift.noise_floor import _excess_by_merge, excess_distances
    from pytest_opsladder.drift.simulate import Effects, simulate_table

    table = simulate_table(30, 3, Effects(trajectory_noise=0.3), np.random.default_rng(2))
    keyed = table.assign(_key=table["trajectory"].map("\x1f".join))
    batch = trajectory_batch(MatchMode.STRICT)
    dense = excess_distances(keyed, "_key", batch)
    codes, uniques = pd.factorize(keyed["_key"])
    merged = _excess_by_merge(keyed, codes, list(uniques), batch)
    for got, want in zip(dense, merged, strict=True):
        assert got.to_numpy() == pytest.approx(want.to_numpy(), abs=1e-12)
    ragged = excess_distances(keyed.iloc[1:], "_key", batch)  # one case lost a baseline epoch
    assert len(ragged[0]) == 30
