"""The default paired test per metric type, scored case by case (ladder level 7).

Runs are never compared as independent samples: the K epochs of a case are first reduced to one
value per metric on the metric's own scale (mean; mean of logs for log-scale metrics, so a
different K per side does not bias them; pass rate for pass/fail), then baseline and candidate
values are paired by case. A gated metric gets two one-sided tests at its margin (fail:
degradation above it; pass: below it); the gate Holm-adjusts each family
(:func:`pytest_opsladder.drift.gate.apply_gate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift import margin_tests as mt
from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift import power as pw
from pytest_opsladder.drift.gate import GateConfig, MarginKind, MetricGate, Worse

if TYPE_CHECKING:
    import pandas as pd

Array = pt.Array
# Metrics compared on a log scale (multiplicative changes), when all their values are > 0.
LOG_SCALE = {"latency_s", "cost"}


@dataclass(frozen=True)
class Context:
    """What every scorer needs besides the data: the gate and its family size."""

    gate: GateConfig
    n_gated: int
    epochs: int
    missing_cases: int = 0  # cases run on one side only: lost pairs of every metric
    with_mde: bool = True  # the simulated MDE search can be skipped (self-check loops)

    @property
    def alpha_each(self) -> float:
        """Holm's first threshold: a single degraded metric must beat alpha / m."""
        return self.gate.alpha / max(self.n_gated, 1)


def reduce_cases(table: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-case means of ``columns`` for each role, restricted to cases present on both sides."""
    return split_roles(table.groupby(["role", "case_id"], sort=True, observed=True)[columns].mean())


def split_roles(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows indexed (role, case_id) to a baseline and a candidate frame on the same cases."""
    import pandas as pd

    roles = set(frame.index.get_level_values(0).unique())
    if not {"baseline", "candidate"} <= roles:
        empty = pd.DataFrame(columns=frame.columns, index=pd.Index([], name="case_id"))
        return empty, empty
    base, cand = frame.xs("baseline"), frame.xs("candidate")
    assert isinstance(base, pd.DataFrame)
    assert isinstance(cand, pd.DataFrame)
    both = base.index.intersection(cand.index)
    return base.reindex(both), cand.reindex(both)


def base_entry(name: str, kind: str, gate: MetricGate | None, n: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "gated": gate is not None,
        "worse": gate.worse.value if gate else None,
        "margin": gate.margin if gate else None,
        "margin_kind": gate.margin_kind.value if gate else None,
        "n": n,
        "p_adjusted": None,
        "p_value_pass": None,
        "p_adjusted_pass": None,
        "p_value_pass_worst_case": None,
        "bound": None,
        "mde": None,
        "mde_method": None,
        "n_decisive": None,
        "n_lost": 0,
        "inconclusive_reason": None,
        "verdict": "not_gated",
        "reason": "reported, not gated",
    }


def summary(values: Array) -> dict[str, float | None]:
    if values.size == 0:
        return {"mean": None, "median": None, "q25": None, "q75": None}
    q25, med, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return {
        "mean": float(values.mean()),
        "median": float(med),
        "q25": float(q25),
        "q75": float(q75),
    }


def finite_pairs(b: Array, c: Array) -> tuple[Array, Array, int]:
    """Pairs with a value on both sides, and how many were lost to a missing value."""
    keep = np.isfinite(b) & np.isfinite(c)
    return b[keep], c[keep], int((~keep).sum())


def _alternative(gate: MetricGate | None) -> str:
    if gate is None:
        return "two-sided"
    return "greater" if gate.worse is Worse.HIGHER else "less"


def _sign(gate: MetricGate) -> float:
    """+1 when larger is worse, -1 when smaller is worse: sign * (cand - base) = degradation."""
    return 1.0 if gate.worse is Worse.HIGHER else -1.0


def wants_log(name: str, gate: MetricGate | None) -> bool:
    """Compared as a ratio: the known multiplicative metrics and any relative margin."""
    return name in LOG_SCALE or (gate is not None and gate.margin_kind is MarginKind.RELATIVE)


def set_tests(entry: dict[str, Any], res: mt.TwoSided, gate: MetricGate | None) -> None:
    """The fail / pass p-values of a gated metric, or the two-sided one of an ungated metric."""
    entry.update(test=res.test, alternative=_alternative(gate), statistic=res.statistic)
    if gate is None:
        entry["p_value"] = min(1.0, 2.0 * min(res.fail, res.pass_))
    else:
        entry.update(p_value=res.fail, p_value_pass=res.pass_)
    entry["extra"] |= res.extra


def score_numeric(
    name: str, b: Array, c: Array, gate: MetricGate | None, ctx: Context, *, log: bool = False
) -> dict[str, Any]:
    """Signed-rank tests on per-case differences; Hodges-Lehmann shift as the effect.

    ``b`` and ``c`` are per-case values on the test scale: means of logs when ``log``."""
    b, c, dropped = finite_pairs(b, c)
    d = c - b
    raw_b, raw_c = (np.exp(b), np.exp(c)) if log else (b, c)
    entry = base_entry(name, "numeric", gate, int(d.size))
    hl, lo, hi = pt.hodges_lehmann(d, seed=ctx.gate.seed)
    conv = math.expm1 if log else float
    name_fx = "hodges_lehmann_ratio_change" if log else "hodges_lehmann_shift"
    entry["effect"] = _effect(name_fx, conv(hl), conv(lo), conv(hi))
    entry["baseline_summary"], entry["candidate_summary"] = summary(raw_b), summary(raw_c)
    entry["extra"] = {
        "scale": "log" if log else "linear",
        "rank_biserial": pt.rank_biserial(d),
        "pct_change_median": pt.pct_change_median(raw_b, raw_c),
        "dropped_nan": dropped,
    }
    entry["n_lost"] = dropped + ctx.missing_cases
    if gate is None:
        set_tests(entry, mt.signed_rank(d), None)
        entry["mde"] = _ungated_mde(d, raw_b, log, ctx)
        return entry
    _gated_numeric(entry, d, gate, ctx, raw_b, log, hl)
    return entry


def _gated_numeric(
    entry: dict[str, Any],
    d: Array,
    gate: MetricGate,
    ctx: Context,
    raw_b: Array,
    log: bool,
    hl: float,
) -> None:
    x = _sign(gate) * d
    margin_t = _margin_on_test_scale(gate, raw_b, log)
    reason = _empty_reason(entry["name"], d, raw_b, entry["extra"]["dropped_nan"])
    if reason:
        entry["inconclusive_reason"] = reason
        set_tests(entry, mt.TwoSided("wilcoxon_pratt", 0.0, 1.0, 1.0, {}), gate)
        return
    if math.isinf(margin_t):  # a drop of 100% or more cannot be exceeded
        res = mt.TwoSided("wilcoxon_pratt", 0.0, 1.0, 0.0, {"method": "margin_unreachable"})
    else:
        res = mt.signed_rank(x - margin_t)
    set_tests(entry, res, gate)
    if entry["n_lost"] and math.isfinite(margin_t):
        shifted = x - margin_t  # worst case: every lost pair degraded more than any seen
        worst = np.full(entry["n_lost"], float(np.max(np.abs(shifted))) + 1.0)
        entry["p_value_pass_worst_case"] = mt.signed_rank(np.concatenate([shifted, worst])).pass_

    def units(v: float | None) -> float | None:
        return _to_margin_units(v, gate, raw_b, log)

    walsh = _sign(gate) * pt.walsh_averages(d, ctx.gate.seed)
    entry["bound"] = units(mt.walsh_upper_bound(walsh, int(x.size), ctx.alpha_each))
    if ctx.with_mde and math.isfinite(margin_t):
        found = pw.numeric_mde(
            x, _sign(gate) * hl, alpha=ctx.alpha_each, power=ctx.gate.power, seed=ctx.gate.seed
        )
        entry["mde"] = units(None if found.value is None else margin_t + found.value)
        entry["mde_method"] = found.method
    sd = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    entry["n_decisive"] = pw.n_decisive(
        _sign(gate) * hl, margin_t, sd, alpha=ctx.alpha_each, power=ctx.gate.power
    )


def _empty_reason(name: str, d: Array, raw_b: Array, dropped: int) -> str | None:
    """Why a numeric metric cannot be tested at all: no pairs, or a constant in both arms."""
    if d.size == 0:
        lost = f" ({dropped} lost to a missing value)" if dropped else ""
        return f"no case has a value of {name} on both sides{lost}; nothing to test"
    if np.all(d == 0) and np.all(raw_b == raw_b[0]):
        return (
            f"{name} is constant ({float(raw_b[0]):g}) in both arms: nothing varies, so neither "
            "a degradation nor its absence can be shown"
        )
    return None


def _margin_on_test_scale(gate: MetricGate, b: Array, log: bool) -> float:
    """The margin in the unit the test works in: a log ratio, or absolute in the metric's unit.

    On the log scale a fraction f of the baseline is log(1 + f) upwards and -log(1 - f)
    downwards; an absolute margin on a log-scale metric is taken as a fraction of the baseline
    median. A downward margin of 100% or more cannot be exceeded: +inf.
    """
    if not log:
        if gate.margin_kind is MarginKind.ABSOLUTE:
            return gate.margin
        return gate.margin * abs(float(b.mean())) if b.size else 0.0
    fraction = gate.margin
    if gate.margin_kind is MarginKind.ABSOLUTE:
        med = float(np.median(b)) if b.size else 0.0
        fraction = gate.margin / med if med > 0 else 0.0
    if gate.worse is Worse.HIGHER:
        return math.log1p(fraction)
    return -math.log1p(-fraction) if fraction < 1 else math.inf


def _from_log(m: float, gate: MetricGate | None) -> float:
    """A degradation of m on the log scale as a fraction of the baseline."""
    return -math.expm1(-m) if gate is not None and gate.worse is Worse.LOWER else math.expm1(m)


def _to_margin_units(v: float | None, gate: MetricGate, raw_b: Array, log: bool) -> float | None:
    """A degradation on the test scale in the margin's unit (relative: a fraction)."""
    if v is None or not math.isfinite(v) or raw_b.size == 0:
        return None
    if log:
        fraction = _from_log(v, gate)
        if gate.margin_kind is MarginKind.RELATIVE:
            return fraction
        return float(np.median(raw_b)) * fraction
    if gate.margin_kind is MarginKind.RELATIVE:
        mean_b = abs(float(raw_b.mean()))
        return v / mean_b if mean_b > 0 else None
    return v


def _ungated_mde(d: Array, raw_b: Array, log: bool, ctx: Context) -> float | None:
    """Reported for ungated metrics only: the normal-approximation MDE (as a fraction of the
    baseline for log-scale metrics), two-sided questions having no margin to search at."""
    m = pw.normal_mde(
        float(np.std(d, ddof=1)) if d.size > 1 else math.nan,
        int(d.size),
        alpha=ctx.gate.alpha,
        power=ctx.gate.power,
    )
    if m is None:
        return None
    return math.expm1(m) if log else m


def _effect(name: str, estimate: float, lo: float, hi: float) -> dict[str, Any]:
    def clean(v: float) -> float | None:
        return None if v is None or not math.isfinite(v) else float(v)

    return {
        "name": name,
        "estimate": clean(estimate),
        "ci_low": clean(lo),
        "ci_high": clean(hi),
        "ci_level": 0.95,
    }
