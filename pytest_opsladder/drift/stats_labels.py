"""Drift of labels, trajectories and texts, paired by case (ladder level 7).

Categorical metrics (status, error code, tool used) are compared as per-case category shares:
a global within-case permutation test on the Jensen-Shannon distance, and per-category tests
for the Benjamini-Hochberg diagnostics. Trajectories and texts use the noise-floor design:
per case, distance(candidate, baseline) minus distance(baseline epoch, baseline epoch).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift.distances import (
    _SEP,
    BatchDistance,
    MatchMode,
    js_distance,
    pairwise,
    split_key,
    text_distance,
    trajectory_batch,
    tv_distance,
)
from pytest_opsladder.drift.gate import MetricGate
from pytest_opsladder.drift.stats import Context, _effect, base_entry, split_roles, summary

if TYPE_CHECKING:
    import pandas as pd

_PERM_BUDGET = 5_000_000  # sign flips x cases per permutation test


def category_shares(table: pd.DataFrame, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per case and role, the share of runs in each category (rows: cases on both sides)."""

    labels = table[column].astype("object").where(table[column].notna(), "<missing>").astype(str)
    counts = count_matrix(table["role"], table["case_id"], labels)
    return split_roles(counts.div(counts.sum(axis=1), axis=0))


def count_matrix(role: pd.Series[Any], case: pd.Series[Any], label: pd.Series[Any]) -> pd.DataFrame:
    """Runs per (role, case) x label via integer codes and one bincount (crosstab is slower)."""
    import pandas as pd

    role_codes, roles = pd.factorize(role, sort=True)
    case_codes, cases = pd.factorize(case, sort=True)
    col_codes, col_keys = pd.factorize(label.to_numpy(), sort=True)
    width, n_rows = max(len(col_keys), 1), len(roles) * len(cases)
    row_codes = role_codes * len(cases) + case_codes
    flat = np.bincount(row_codes * width + col_codes, minlength=n_rows * width)
    matrix = flat.reshape(n_rows, width)[:, : len(col_keys)]
    index = pd.MultiIndex.from_product([roles, cases], names=["role", "case_id"])
    frame = pd.DataFrame(matrix, index=index, columns=pd.Index(col_keys))
    return frame[frame.sum(axis=1) > 0]


def score_categorical(name: str, table: pd.DataFrame, ctx: Context) -> dict[str, Any]:
    """Global test: sign-flip (role swap within case) permutation of the JS distance."""
    base, cand = category_shares(table, name)
    p_, q_ = base.to_numpy(dtype=float), cand.to_numpy(dtype=float)
    n = p_.shape[0]
    entry = base_entry(name, "categorical", None, n)
    js = float(js_distance(p_.mean(0), q_.mean(0))) if n else 0.0
    p_value, n_perm = _js_permutation(p_, q_, js, ctx.gate.seed)
    entry.update(test="js_permutation", alternative="greater", statistic=js, p_value=p_value)
    entry["effect"] = _effect("js_distance", js, math.nan, math.nan)
    entry["extra"] = {
        "tvd": float(tv_distance(p_.mean(0), q_.mean(0))) if n else 0.0,
        "permutations": n_perm,
        "baseline_shares": dict(zip(base.columns, p_.mean(0).tolist(), strict=True)) if n else {},
        "candidate_shares": dict(zip(cand.columns, q_.mean(0).tolist(), strict=True)) if n else {},
    }
    entry["baseline_summary"] = entry["candidate_summary"] = summary(np.empty(0))
    entry["mde"] = None
    return entry


def _js_permutation(p_: pt.Array, q_: pt.Array, observed: float, seed: int) -> tuple[float, int]:
    n = p_.shape[0]
    diff = q_ - p_
    diff = diff[np.any(diff != 0, axis=1)]  # unchanged cases are the same under every flip
    if n == 0 or diff.shape[0] == 0:
        return 1.0, 0
    m = diff.shape[0]
    n_perm = int(max(199, min(999, _PERM_BUDGET // m)))
    rng = np.random.default_rng(seed)
    mid = (p_ + q_).mean(0) / 2.0
    diff32, total = diff.astype(np.float32), diff.sum(axis=0)
    hits, done = 0, 0
    while done < n_perm:
        chunk = min(100, n_perm - done)
        # one random byte gives 8 flips; sum(s_i d_i) = 2 * sum(bit_i d_i) - sum(d_i)
        raw = rng.integers(0, 256, size=(chunk, (m + 7) // 8), dtype=np.uint8)
        bits = np.unpackbits(raw, axis=1, count=m).astype(np.float32)
        half = (2.0 * (bits @ diff32).astype(float) - total) / (2.0 * n)
        hits += int(np.sum(js_distance(mid + half, mid - half) >= observed - 1e-12))
        done += chunk
    return (hits + 1) / (n_perm + 1), n_perm


def category_diagnostics(
    group: str, base: pd.DataFrame, cand: pd.DataFrame, ctx: Context
) -> list[dict[str, Any]]:
    """Per category: McNemar on per-case indicators (one epoch) or Wilcoxon on shares."""
    out = []
    for key in base.columns.union(cand.columns):
        b = base[key].to_numpy(dtype=float) if key in base else np.zeros(len(base))
        c = cand[key].to_numpy(dtype=float) if key in cand else np.zeros(len(cand))
        res = _share_test(b, c, ctx.epochs)
        effect = float((c - b).mean()) if b.size else 0.0
        out.append(
            {
                "group": group,
                "key": str(key),
                "metric": group,
                "p_value": res.p_value,
                "effect": effect,
            }
        )
    return out


def _share_test(b: pt.Array, c: pt.Array, epochs: int) -> pt.TestResult:
    if epochs == 1:
        lost, gained = int(np.sum((b > 0.5) & (c < 0.5))), int(np.sum((b < 0.5) & (c > 0.5)))
        return pt.mcnemar_exact(lost, gained, n=int(b.size), one_sided=False)
    return pt.wilcoxon_shift(c - b, one_sided=False)


def tool_shares(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per case and role, the share of runs that called each tool at least once.

    Tool sets are worked out once per distinct trajectory, then indexed per run."""
    import pandas as pd

    codes, keys = pd.factorize(_trajectory_keys(table))
    tools = sorted({t for key in keys for t in split_key(str(key))})
    if not tools:
        empty = pd.DataFrame(index=pd.Index([], name="case_id"))
        return empty, empty
    column = {t: i for i, t in enumerate(tools)}
    per_key = np.zeros((len(keys), len(tools)))
    for k, key in enumerate(keys):
        per_key[k, [column[t] for t in set(split_key(str(key)))]] = 1.0
    used = pd.DataFrame(per_key[codes], columns=tools, index=table.index)
    used[["role", "case_id"]] = table[["role", "case_id"]]
    return split_roles(used.groupby(["role", "case_id"], sort=True, observed=True)[tools].mean())


def _trajectory_keys(table: pd.DataFrame) -> pd.Series[Any]:
    """One hashable string per run's tool sequence (precomputed by prepare_table if present)."""
    if "_traj_key" in table:
        return table["_traj_key"]
    import pandas as pd

    return pd.Series(trajectory_keys(table["trajectory"]), index=table.index)


def excess_distances(
    table: pd.DataFrame, column: str, batch: BatchDistance
) -> tuple[pd.Series[Any], pd.Series[Any], pd.Series[Any], pd.Series[Any]]:
    """Per case: mean d(candidate, baseline), mean d(baseline_i, baseline_j), and exact-match
    shares of both. Each distinct pair of values is measured once."""
    import pandas as pd

    codes, uniques = pd.factorize(table[column])
    df = pd.DataFrame(
        {"case_id": table["case_id"].to_numpy(), "role": table["role"].to_numpy(), "code": codes}
    )
    df["k"] = df.groupby(["case_id", "role"], observed=True).cumcount()
    base, cand = df[df["role"] == "baseline"], df[df["role"] == "candidate"]
    cb = cand.merge(base, on="case_id", suffixes=("_c", "_b"))
    bb = base.merge(base, on="case_id", suffixes=("_c", "_b"))
    bb = bb[bb["k_c"] < bb["k_b"]]
    d_cb, d_bb = _distances(list(uniques), batch, cb, bb)
    cb, bb = cb.assign(d=d_cb), bb.assign(d=d_bb)
    cand_d = cb.groupby("case_id")["d"].mean()
    floor = bb.groupby("case_id")["d"].mean().reindex(cand_d.index)
    cand_match = (cb["d"] == 0).groupby(cb["case_id"]).mean()
    base_match = (bb["d"] == 0).groupby(bb["case_id"]).mean().reindex(cand_d.index)
    return cand_d, floor, cand_match, base_match


def _distances(values: list[Any], batch: BatchDistance, *frames: pd.DataFrame) -> list[pt.Array]:
    """Distances of every row's (code_c, code_b), measuring each distinct unequal pair once."""
    left = np.concatenate([f["code_c"].to_numpy(dtype=np.int64) for f in frames])
    right = np.concatenate([f["code_b"].to_numpy(dtype=np.int64) for f in frames])
    out = np.zeros(left.size)
    differ = left != right  # equal values are at distance 0
    width = max(len(values), 1)
    distinct, inverse = np.unique(left[differ] * width + right[differ], return_inverse=True)
    if distinct.size:
        out[differ] = batch(values, distinct // width, distinct % width)[inverse]
    bounds = np.cumsum([len(f) for f in frames])[:-1]
    return list(np.split(out, bounds))


def trajectory_keys(column: pd.Series[Any]) -> list[str]:
    """trajectory_key for a whole column: str.join per list, the slow path only if needed."""
    try:
        return [_SEP.join(steps) if steps else "" for steps in column.tolist()]
    except TypeError:
        return [trajectory_key(steps) for steps in column.tolist()]


def trajectory_key(steps: Any) -> str:
    """One hashable string per tool sequence."""
    if not isinstance(steps, list | tuple) or not steps:
        return ""
    return (
        _SEP.join(steps) if all(isinstance(s, str) for s in steps) else _SEP.join(map(str, steps))
    )


def score_excess(
    name: str,
    kind: str,
    table: pd.DataFrame,
    gate: MetricGate | None,
    ctx: Context,
    mode: MatchMode | None,
) -> dict[str, Any]:
    """Wilcoxon on per-case distance excess over the baseline's noise floor."""
    keyed, fn = _keyed(table, name, kind, mode)
    cand_d, floor, cand_match, base_match = excess_distances(keyed, "_key", fn)
    has_floor = bool(floor.notna().any())
    x = (cand_d - floor.fillna(0.0)).to_numpy(dtype=float)
    margin = gate.margin if gate else 0.0
    res = pt.wilcoxon_shift(x - margin, one_sided=gate is not None)
    entry = base_entry(name, kind, gate, int(x.size))
    entry.update(test="wilcoxon_noise_floor", alternative="greater" if gate else "two-sided")
    entry.update(statistic=res.statistic, p_value=res.p_value)
    lo, hi = pt.mean_ci(x, seed=ctx.gate.seed)
    entry["effect"] = _effect("distance_excess", float(x.mean()) if x.size else math.nan, lo, hi)
    entry["extra"] = {
        **res.extra,
        "noise_floor_available": has_floor,
        "match_mode": mode.value if mode else None,
    }
    entry["extra"] |= _exact_match(
        cand_match.to_numpy(dtype=float), base_match.fillna(1.0).to_numpy(dtype=float)
    )
    entry["baseline_summary"] = summary(floor.fillna(0.0).to_numpy(dtype=float))
    entry["candidate_summary"] = summary(cand_d.to_numpy(dtype=float))
    alpha = ctx.alpha_each if gate else ctx.gate.alpha
    sd = float(np.std(x, ddof=1)) if x.size > 1 else math.nan
    entry["mde"] = (
        pt.mde(sd / math.sqrt(x.size), alpha=alpha, power=ctx.gate.power) if x.size > 1 else None
    )
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
