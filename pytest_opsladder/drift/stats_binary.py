"""The pass/fail metric, paired by case, tested at its margin in both directions (level 7).

One epoch: b regressions and c improvements among n paired cases; exact conditional McNemar at
margin 0, Tango's score test with an exact unconditional critical value otherwise
(:mod:`.margin_tests`, :mod:`.unconditional`); MDE by exact power search. K > 1 epochs: the
sign-flip permutation test of the per-case pass-rate differences minus the margin, both ways.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pytest_opsladder.drift import margin_tests as mt
from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift import power as pw
from pytest_opsladder.drift.gate import MarginKind, MetricGate
from pytest_opsladder.drift.stats import (
    Array,
    Context,
    _effect,
    _sign,
    base_entry,
    finite_pairs,
    set_tests,
    summary,
)


def score_binary(
    name: str, b: Array, c: Array, gate: MetricGate | None, ctx: Context
) -> dict[str, Any]:
    """Per-case pass rates of both sides; see the module docstring for the tests."""
    b, c, dropped = finite_pairs(b, c)
    n = int(b.size)
    entry = base_entry(name, "binary", gate, n)
    d = c - b
    lo, hi = pt.mean_ci(d, seed=ctx.gate.seed)
    entry["effect"] = _effect("delta_pass_rate", float(d.mean()) if n else math.nan, lo, hi)
    entry["baseline_summary"], entry["candidate_summary"] = summary(b), summary(c)
    entry["extra"] = {"dropped_nan": dropped, "epochs": ctx.epochs}
    entry["n_lost"] = dropped + ctx.missing_cases
    if n == 0 and gate is not None:
        lost = f" ({dropped} lost to a missing value)" if dropped else ""
        entry["inconclusive_reason"] = f"no case has a pass/fail on both sides{lost}"
        set_tests(entry, mt.TwoSided("mcnemar_exact", 0.0, 1.0, 1.0, {}), gate)
    elif ctx.epochs == 1:
        _one_epoch(entry, b, c, gate, ctx)
    else:
        _epochs(entry, d, gate, ctx)
    return entry


def _margin(gate: MetricGate | None, b: Array) -> float:
    """The margin in pass-rate points (a relative margin is a share of the baseline rate)."""
    if gate is None:
        return 0.0
    if gate.margin_kind is MarginKind.RELATIVE:
        return gate.margin * float(b.mean()) if b.size else 0.0
    return gate.margin


def _units(v: float | None, gate: MetricGate, b: Array) -> float | None:
    """Pass-rate points in the margin's unit."""
    if v is None or not math.isfinite(v):
        return None
    if gate.margin_kind is MarginKind.RELATIVE:
        mean_b = float(b.mean()) if b.size else 0.0
        return v / mean_b if mean_b > 0 else None
    return v


def _one_epoch(
    entry: dict[str, Any], b: Array, c: Array, gate: MetricGate | None, ctx: Context
) -> None:
    sign = _sign(gate) if gate else -1.0  # a pass rate degrades downwards
    worse_b, worse_c = (b, c) if sign < 0 else (c, b)
    regress = int(np.sum((worse_b > 0.5) & (worse_c < 0.5)))
    improve = int(np.sum((worse_b < 0.5) & (worse_c > 0.5)))
    n, margin = int(b.size), _margin(gate, b)
    set_tests(entry, mt.paired_binary(regress, improve, n=n, margin=margin), gate)
    if gate is None:
        entry["mde"] = pw.normal_mde(_floored_sd(c - b, 1), n, alpha=ctx.gate.alpha, power=0.8)
        return
    if regress + improve == 0 and margin == 0.0:
        entry["inconclusive_reason"] = (
            f"0 discordant pairs in {n} cases: no case changed, and with margin 0 only a "
            "significantly better candidate passes"
        )
    lost = entry["n_lost"]
    if lost:  # worst case: every lost pair a regression
        worst = mt.paired_binary(regress + lost, improve, n=n + lost, margin=margin)
        entry["p_value_pass_worst_case"] = worst.pass_
    bound = mt.tango_upper_bound(regress, improve, n=n, alpha=ctx.alpha_each)
    entry["bound"] = _units(bound, gate, b)
    found = pw.binary_mde(n, round(margin, 12), ctx.alpha_each, regress + improve, ctx.gate.power)
    entry["mde"], entry["mde_method"] = _units(found.value, gate, b), found.method
    estimate = (regress - improve) / n
    sd = math.sqrt(max(max(regress + improve, 1) / n - estimate**2, 1.0 / n))
    entry["n_decisive"] = pw.n_decisive(
        estimate, margin, sd, alpha=ctx.alpha_each, power=ctx.gate.power
    )


def _floored_sd(d: Array, epochs: int) -> float:
    """SD of per-case differences, floored at one case in n moving by one epoch: 0 discordant
    cases out of 30 is not proof that a 2-point drop would have been seen."""
    n = d.size
    if n < 2:
        return math.nan
    return math.sqrt(max(float(np.var(d, ddof=1)), 1.0 / (epochs**2 * n)))


def _epochs(entry: dict[str, Any], d: Array, gate: MetricGate | None, ctx: Context) -> None:
    seed = ctx.gate.seed
    if gate is None:
        two = pt.sign_flip(d, one_sided=False, seed=seed)
        entry.update(test=two.test, alternative="two-sided", statistic=two.statistic)
        entry["p_value"], entry["extra"] = two.p_value, entry["extra"] | two.extra
        sd = _floored_sd(d, ctx.epochs)
        entry["mde"] = pw.normal_mde(sd, int(d.size), alpha=ctx.gate.alpha, power=0.8)
        return
    base = entry_baseline(entry)
    x, margin = _sign(gate) * d, _margin(gate, base)
    greater, less, method = pt.sign_flip_tails(x - margin, seed=seed)
    stat = float((x - margin).mean()) if x.size else 0.0
    res = mt.TwoSided("sign_flip_permutation", stat, greater, less, {"method": method})
    set_tests(entry, res, gate)
    lost = entry["n_lost"]
    if lost:  # worst case: every lost case lost every epoch's pass
        worst = np.concatenate([x - margin, np.full(lost, 1.0 - margin)])
        entry["p_value_pass_worst_case"] = pt.sign_flip_tails(worst, seed=seed)[1]
    sd, n = _floored_sd(x, ctx.epochs), int(x.size)
    est = float(x.mean())
    from scipy.stats import norm

    if n > 1:
        bound = est + float(norm.isf(ctx.alpha_each)) * sd / math.sqrt(n)
        mde = pw.normal_mde(sd, n, alpha=ctx.alpha_each, power=ctx.gate.power)
        entry["bound"] = _units(bound, gate, base)
        entry["mde"] = None if mde is None else _units(margin + mde, gate, base)
        entry["mde_method"] = "normal"
    entry["n_decisive"] = pw.n_decisive(est, margin, sd, alpha=ctx.alpha_each, power=ctx.gate.power)


def entry_baseline(entry: dict[str, Any]) -> Array:
    """The baseline's mean pass rate as a one-value array (for a relative margin)."""
    mean = entry["baseline_summary"]["mean"]
    return np.asarray([] if mean is None else [mean], dtype=float)
