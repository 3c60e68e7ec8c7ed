"""The default paired test per metric type, scored case by case (ladder level 7).

Runs are never compared as independent samples: the K epochs of a case are first reduced to one
value per metric (mean; pass rate for pass/fail), then baseline and candidate values are paired
by case. Each scorer returns one entry of the results JSON ``metrics`` list; the gate then
Holm-adjusts the gated ones (:func:`pytest_opsladder.drift.gate.apply_gate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift import paired_tests as pt
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


def _finite_pairs(b: Array, c: Array) -> tuple[Array, Array, int]:
    keep = np.isfinite(b) & np.isfinite(c)
    return b[keep], c[keep], int((~keep).sum())


def _alternative(gate: MetricGate | None) -> str:
    if gate is None:
        return "two-sided"
    return "greater" if gate.worse is Worse.HIGHER else "less"


def _sign(gate: MetricGate) -> float:
    """+1 when larger is worse, -1 when smaller is worse: sign * (cand - base) = degradation."""
    return 1.0 if gate.worse is Worse.HIGHER else -1.0


def score_numeric(
    name: str, b: Array, c: Array, gate: MetricGate | None, ctx: Context
) -> dict[str, Any]:
    """Wilcoxon signed-rank on per-case differences; Hodges-Lehmann shift as the effect."""
    b, c, dropped = _finite_pairs(b, c)
    log = _use_log(name, gate, b, c)
    d = (np.log(c) - np.log(b)) if log else (c - b)
    margin_t = _margin_on_test_scale(gate, b, log)
    if gate is not None and math.isinf(margin_t):
        res = pt.TestResult("wilcoxon", 0.0, 1.0, {"zero_method": "zsplit"})
    elif gate is not None:
        res = pt.wilcoxon_shift(_sign(gate) * d - margin_t, one_sided=True)
    else:
        res = pt.wilcoxon_shift(d, one_sided=False)
    entry = base_entry(name, "numeric", gate, int(d.size))
    hl, lo, hi = pt.hodges_lehmann(d, seed=ctx.gate.seed)
    effect_name = "hodges_lehmann_ratio_change" if log else "hodges_lehmann_shift"
    conv = math.expm1 if log else float
    entry.update(_common(res, gate, b, c))
    entry["effect"] = _effect(effect_name, conv(hl), conv(lo), conv(hi))
    entry["extra"] |= {
        "scale": "log" if log else "linear",
        "rank_biserial": pt.rank_biserial(d),
        "pct_change_median": pt.pct_change_median(b, c),
        "dropped_nan": dropped,
    }
    entry["mde"] = _numeric_mde(d, gate, b, log, ctx)
    return entry


def _use_log(name: str, gate: MetricGate | None, b: Array, c: Array) -> bool:
    wants = name in LOG_SCALE or (gate is not None and gate.margin_kind is MarginKind.RELATIVE)
    return bool(wants and b.size and np.all(b > 0) and np.all(c > 0))


def _margin_on_test_scale(gate: MetricGate | None, b: Array, log: bool) -> float:
    """The margin in the unit the test works in: a log ratio, or absolute in the metric's unit.

    On the log scale a fraction f of the baseline is log(1 + f) upwards and -log(1 - f)
    downwards; an absolute margin on a log-scale metric is taken as a fraction of the baseline
    median. A downward margin of 100% or more cannot be exceeded: +inf.
    """
    if gate is None:
        return 0.0
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


def _numeric_mde(
    d: Array, gate: MetricGate | None, b: Array, log: bool, ctx: Context
) -> float | None:
    """MDE in the margin's unit (relative margins: as a fraction of the baseline)."""
    if d.size < 2:
        return None
    alpha = ctx.alpha_each if gate is not None else ctx.gate.alpha
    m = pt.mde(float(np.std(d, ddof=1)) / math.sqrt(d.size), alpha=alpha, power=ctx.gate.power)
    relative = gate is None or gate.margin_kind is MarginKind.RELATIVE
    if log:
        return _from_log(m, gate) if relative else float(np.median(b)) * _from_log(m, gate)
    if relative and gate is not None:
        mean_b = abs(float(b.mean()))
        return m / mean_b if mean_b > 0 else None
    return m


def score_binary(
    name: str, b: Array, c: Array, gate: MetricGate | None, ctx: Context
) -> dict[str, Any]:
    """Per-case pass rates: exact McNemar with one epoch, sign-flip permutation with more."""
    b, c, dropped = _finite_pairs(b, c)
    n = int(b.size)
    margin = _binary_margin(gate, b)
    sign = _sign(gate) if gate else -1.0  # a pass rate degrades downwards
    if ctx.epochs == 1:
        worse_b, worse_c = (b, c) if sign < 0 else (c, b)
        regress = int(np.sum((worse_b > 0.5) & (worse_c < 0.5)))
        improve = int(np.sum((worse_b < 0.5) & (worse_c > 0.5)))
        res = pt.mcnemar_exact(regress, improve, n=n, margin=margin, one_sided=gate is not None)
    else:
        x = sign * (c - b) - margin if gate else c - b
        res = pt.sign_flip(x, one_sided=gate is not None, seed=ctx.gate.seed)
    entry = base_entry(name, "binary", gate, n)
    entry.update(_common(res, gate, b, c))
    d = c - b
    lo, hi = pt.mean_ci(d, seed=ctx.gate.seed)
    entry["effect"] = _effect("delta_pass_rate", float(d.mean()) if n else math.nan, lo, hi)
    entry["extra"] |= {"dropped_nan": dropped, "epochs": ctx.epochs}
    entry["mde"] = _binary_mde(d, gate, b, ctx)
    return entry


def _binary_margin(gate: MetricGate | None, b: Array) -> float:
    if gate is None:
        return 0.0
    if gate.margin_kind is MarginKind.RELATIVE:
        return gate.margin * float(b.mean()) if b.size else 0.0
    return gate.margin


def _binary_mde(d: Array, gate: MetricGate | None, b: Array, ctx: Context) -> float | None:
    """MDE with a variance floor of one case moving by one epoch: 0 discordant cases out of 30
    is not proof that a 2-point drop would have been seen."""
    n = d.size
    if n < 2:
        return None
    var = max(float(np.var(d, ddof=1)), 1.0 / (ctx.epochs**2 * n))
    alpha = ctx.alpha_each if gate is not None else ctx.gate.alpha
    m = pt.mde(math.sqrt(var / n), alpha=alpha, power=ctx.gate.power)
    if gate is not None and gate.margin_kind is MarginKind.RELATIVE:
        mean_b = float(b.mean())
        return m / mean_b if mean_b > 0 else None
    return m


def _common(res: pt.TestResult, gate: MetricGate | None, b: Array, c: Array) -> dict[str, Any]:
    return {
        "test": res.test,
        "alternative": _alternative(gate),
        "statistic": res.statistic,
        "p_value": res.p_value,
        "extra": dict(res.extra),
        "baseline_summary": summary(b),
        "candidate_summary": summary(c),
    }


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
