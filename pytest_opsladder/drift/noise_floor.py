"""Trajectory and text drift above the baseline's own noise floor (ladder level 7).

Per case: mean distance(candidate run, baseline run) minus mean distance(baseline epoch,
baseline epoch), tested with Wilcoxon across cases. With one baseline epoch there is no floor
and every difference counts. Exact-match rates of both sides are reported with McNemar.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift import margin_tests as mt
from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift import power as pw
from pytest_opsladder.drift.distances import (
    BatchDistance,
    MatchMode,
    pairwise,
    text_distance,
    trajectory_batch,
)
from pytest_opsladder.drift.gate import MetricGate
from pytest_opsladder.drift.stats import Context, _effect, base_entry, set_tests, summary
from pytest_opsladder.drift.stats_labels import _trajectory_keys

if TYPE_CHECKING:
    import pandas as pd


def excess_distances(
    table: pd.DataFrame, column: str, batch: BatchDistance
) -> tuple[pd.Series[Any], pd.Series[Any], pd.Series[Any], pd.Series[Any]]:
    """Per case: mean d(candidate, baseline), mean d(baseline_i, baseline_j), and exact-match
    shares of both. Each distinct pair of values is measured once."""
    import pandas as pd

    codes, uniques = pd.factorize(table[column])
    cases, case_keys = pd.factorize(table["case_id"], sort=True)
    is_base = (table["role"] == "baseline").to_numpy()
    dense = _dense(cases, is_base, codes, len(case_keys))
    if dense is not None:
        left, right, n_cb = dense
        d = _distances(list(uniques), batch, left, right)
        d_cb, d_bb = d[:, :n_cb], d[:, n_cb:]
        index = pd.Index(case_keys, name="case_id")
        floor = d_bb.mean(axis=1) if d_bb.shape[1] else np.full(len(index), np.nan)
        base_match = (d_bb == 0).mean(axis=1) if d_bb.shape[1] else np.full(len(index), np.nan)
        series = (d_cb.mean(axis=1), floor, (d_cb == 0).mean(axis=1), base_match)
        return tuple(pd.Series(v, index=index) for v in series)  # type: ignore[return-value]
    return _excess_by_merge(table, codes, list(uniques), batch)


def _dense(cases: Any, is_base: Any, codes: Any, n_cases: int) -> tuple[Any, Any, int] | None:
    """When every case has Kb baseline and Kc candidate runs (the usual shape), all pairs as
    (cases x pairs) matrices of value codes: candidate x baseline first, then baseline i < j.
    None for a ragged suite (the merge path handles it)."""
    kb = np.bincount(cases[is_base], minlength=n_cases)
    kc = np.bincount(cases[~is_base], minlength=n_cases)
    if n_cases == 0 or kb.min() < 1 or kc.min() < 1 or kb.max() != kb.min() or kc.max() != kc.min():
        return None
    order_b = np.argsort(cases[is_base], kind="stable")
    order_c = np.argsort(cases[~is_base], kind="stable")
    base = codes[is_base][order_b].reshape(n_cases, kb[0])
    cand = codes[~is_base][order_c].reshape(n_cases, kc[0])
    i, j = np.triu_indices(int(kb[0]), 1)
    left = np.concatenate([np.repeat(cand, kb[0], axis=1), base[:, i]], axis=1)
    right = np.concatenate([np.tile(base, (1, kc[0])), base[:, j]], axis=1)
    return left, right, int(kb[0] * kc[0])


def _excess_by_merge(
    table: pd.DataFrame, codes: Any, values: list[Any], batch: BatchDistance
) -> tuple[pd.Series[Any], pd.Series[Any], pd.Series[Any], pd.Series[Any]]:
    import pandas as pd

    df = pd.DataFrame(
        {"case_id": table["case_id"].to_numpy(), "role": table["role"].to_numpy(), "code": codes}
    )
    df["k"] = df.groupby(["case_id", "role"], observed=True).cumcount()
    base, cand = df[df["role"] == "baseline"], df[df["role"] == "candidate"]
    cb = cand.merge(base, on="case_id", suffixes=("_c", "_b"))
    bb = base.merge(base, on="case_id", suffixes=("_c", "_b"))
    bb = bb[bb["k_c"] < bb["k_b"]]
    left = np.concatenate([cb["code_c"].to_numpy(), bb["code_c"].to_numpy()])
    right = np.concatenate([cb["code_b"].to_numpy(), bb["code_b"].to_numpy()])
    d = _distances(values, batch, left, right)
    cb, bb = cb.assign(d=d[: len(cb)]), bb.assign(d=d[len(cb) :])
    cand_d = cb.groupby("case_id")["d"].mean()
    floor = bb.groupby("case_id")["d"].mean().reindex(cand_d.index)
    cand_match = (cb["d"] == 0).groupby(cb["case_id"]).mean()
    base_match = (bb["d"] == 0).groupby(bb["case_id"]).mean().reindex(cand_d.index)
    return cand_d, floor, cand_match, base_match


def _distances(values: list[Any], batch: BatchDistance, left: Any, right: Any) -> pt.Array:
    """Distances of value codes ``left`` vs ``right`` (any shape), each distinct unequal pair
    measured once; equal values are at distance 0."""
    left, right = left.astype(np.int64), right.astype(np.int64)
    out = np.zeros(left.shape)
    differ = left != right
    width = max(len(values), 1)
    distinct, inverse = np.unique(left[differ] * width + right[differ], return_inverse=True)
    if distinct.size:
        out[differ] = batch(values, distinct // width, distinct % width)[inverse]
    return out


def score_excess(
    name: str,
    kind: str,
    table: pd.DataFrame,
    gate: MetricGate | None,
    ctx: Context,
    mode: MatchMode | None,
) -> dict[str, Any]:
    """Signed-rank tests on per-case distance excess over the baseline's noise floor."""
    if table.empty:
        return _no_pairs(name, kind, gate)
    keyed, fn = _keyed(table, name, kind, mode)
    cand_d, floor, cand_match, base_match = excess_distances(keyed, "_key", fn)
    has_floor = bool(floor.notna().any())
    x = (cand_d - floor.fillna(0.0)).to_numpy(dtype=float)
    entry = base_entry(name, kind, gate, int(x.size))
    entry["n_lost"] = ctx.missing_cases
    entry["extra"] = {
        "noise_floor_available": has_floor,
        "match_mode": mode.value if mode else None,
    }
    set_tests(entry, mt.signed_rank(x - (gate.margin if gate else 0.0)), gate)
    entry["test"] = "wilcoxon_noise_floor"
    lo, hi = pt.mean_ci(x, seed=ctx.gate.seed)
    entry["effect"] = _effect("distance_excess", float(x.mean()) if x.size else math.nan, lo, hi)
    entry["extra"] |= _exact_match(
        cand_match.to_numpy(dtype=float), base_match.fillna(1.0).to_numpy(dtype=float)
    )
    entry["baseline_summary"] = summary(floor.fillna(0.0).to_numpy(dtype=float))
    entry["candidate_summary"] = summary(cand_d.to_numpy(dtype=float))
    if gate is not None:
        _gated_excess(entry, x, gate, ctx)
    else:
        sd = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
        entry["mde"] = pw.normal_mde(sd, int(x.size), alpha=ctx.gate.alpha, power=ctx.gate.power)
    return entry


def _gated_excess(entry: dict[str, Any], x: pt.Array, gate: MetricGate, ctx: Context) -> None:
    """Bound, worst case, MDE and decisive size of a gated distance (it degrades upwards)."""
    margin = gate.margin
    if entry["n_lost"] and x.size:
        shifted = x - margin
        worst = np.full(entry["n_lost"], float(np.max(np.abs(shifted))) + 1.0)
        entry["p_value_pass_worst_case"] = mt.signed_rank(np.concatenate([shifted, worst])).pass_
    if x.size == 0:
        entry["inconclusive_reason"] = f"no case has a {entry['name']} on both sides"
        return
    walsh = pt.walsh_averages(x, ctx.gate.seed)
    entry["bound"] = mt.walsh_upper_bound(walsh, int(x.size), ctx.alpha_each)
    centre = float(np.median(walsh))
    if ctx.with_mde:
        found = pw.numeric_mde(
            x, centre, alpha=ctx.alpha_each, power=ctx.gate.power, seed=ctx.gate.seed
        )
        entry["mde"] = None if found.value is None else margin + found.value
        entry["mde_method"] = found.method
    sd = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    entry["n_decisive"] = pw.n_decisive(
        centre, margin, sd, alpha=ctx.alpha_each, power=ctx.gate.power
    )
    if entry["mde"] is None and found_constant(x):
        entry["inconclusive_reason"] = (
            f"{entry['name']} did not vary ({float(x[0]):g} excess in every case): nothing to test"
        )


def found_constant(x: pt.Array) -> bool:
    return bool(x.size) and bool(np.all(x == x[0]))


def _no_pairs(name: str, kind: str, gate: MetricGate | None) -> dict[str, Any]:
    entry = base_entry(name, kind, gate, 0)
    entry.update(test="wilcoxon_noise_floor", alternative="greater" if gate else "two-sided")
    entry.update(statistic=0.0, p_value=1.0, p_value_pass=1.0 if gate else None)
    entry["effect"] = _effect("distance_excess", math.nan, math.nan, math.nan)
    entry["extra"] = {"noise_floor_available": False, "match_mode": None}
    entry["baseline_summary"] = entry["candidate_summary"] = summary(np.empty(0))
    if gate is not None:
        entry["inconclusive_reason"] = "no paired cases"
    return entry


def _keyed(
    table: pd.DataFrame, name: str, kind: str, mode: MatchMode | None
) -> tuple[pd.DataFrame, BatchDistance]:
    if kind == "trajectory":
        batch = trajectory_batch(mode or MatchMode.STRICT)
        return table.assign(_key=_trajectory_keys(table)), batch
    return table.assign(_key=table[name].fillna("").astype(str)), pairwise(text_distance)


def _exact_match(cand: pt.Array, base: pt.Array) -> dict[str, Any]:
    """Exact-match rate of both sides and McNemar on the per-case "always matches" indicators."""
    c_ok, b_ok = cand >= 1.0, base >= 1.0
    res = pt.mcnemar_exact(
        int(np.sum(b_ok & ~c_ok)), int(np.sum(~b_ok & c_ok)), n=int(cand.size), one_sided=False
    )
    return {
        "exact_match_rate_candidate": float(cand.mean()) if cand.size else None,
        "exact_match_rate_baseline": float(base.mean()) if base.size else None,
        "exact_match_p_value": res.p_value,
    }
