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

from pytest_opsladder.drift import margin_tests as mt
from pytest_opsladder.drift import paired_tests as pt
from pytest_opsladder.drift.distances import (
    _SEP,
    js_distance,
    split_key,
    tv_distance,
)
from pytest_opsladder.drift.stats import Context, _effect, base_entry, split_roles, summary

if TYPE_CHECKING:
    import pandas as pd

_PERM_BUDGET = 2_000_000  # sign flips x cases per permutation test


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
    """Per category: McNemar on per-case indicators (one epoch) or the signed-rank test
    (Pratt's zeros) on shares."""
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
    res = mt.signed_rank(c - b)  # Pratt's zeros: most cases' shares do not move
    return pt.TestResult(res.test, res.statistic, min(1.0, 2 * min(res.fail, res.pass_)))


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
