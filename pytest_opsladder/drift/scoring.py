"""Which metric gets which test, and the A/A noise floor (ladder level 7).

The metric catalogue follows the metrics table's columns: ``pass_rate`` (from ``passed``) is
binary, the known counters and any further numeric column are numeric, ``status`` and further
label columns are categorical, ``trajectory`` and ``output_text`` use the noise-floor design.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift import stats_labels as sl
from pytest_opsladder.drift.errors import GateConfigError
from pytest_opsladder.drift.gate import GateConfig, MarginKind, MetricGate, Worse, apply_gate
from pytest_opsladder.drift.noise_floor import score_excess
from pytest_opsladder.drift.paired_tests import benjamini_hochberg
from pytest_opsladder.drift.stats import Context, reduce_cases, score_numeric, wants_log
from pytest_opsladder.drift.stats_binary import score_binary
from pytest_opsladder.drift.table import ID_COLUMNS, NUMERIC_METRICS, OTHER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

BINARY, NUMERIC, CATEGORICAL, TRAJECTORY, TEXT = (
    "binary",
    "numeric",
    "categorical",
    "trajectory",
    "text",
)
_NOT_METRICS = {*ID_COLUMNS, *OTHER_COLUMNS} - {"status"}


def metric_catalogue(table: pd.DataFrame, *, text: bool = True) -> dict[str, str]:
    """Every metric the table can score, with its type (the valid names for the gate)."""
    import pandas as pd

    kinds = {"pass_rate": BINARY}
    kinds |= {name: NUMERIC for name in NUMERIC_METRICS if name in table}
    for col in table.columns:
        if col in kinds or col in _NOT_METRICS or col.startswith("_"):
            continue
        kinds[col] = NUMERIC if pd.api.types.is_numeric_dtype(table[col]) else CATEGORICAL
        if kinds[col] == NUMERIC and col.startswith(JUDGE_PREFIX) and _zero_one(table[col]):
            kinds[col] = BINARY  # a pass/fail judge: paired like the pass rate (McNemar)
    kinds["status"] = CATEGORICAL
    kinds["trajectory"] = TRAJECTORY
    if text:
        kinds["output_text"] = TEXT
    return kinds


JUDGE_PREFIX = "judge:"  # judge:<name>, the score of a model-graded check (model_graded/)


def _zero_one(column: pd.Series[Any]) -> bool:
    known = column.to_numpy(dtype=float)
    known = known[np.isfinite(known)]
    return bool(known.size) and bool(np.isin(known, (0.0, 1.0)).all())


def startup_catalogue(registered: Iterable[str] = ()) -> dict[str, str]:
    """The metric types known before any run exists, for validating the gate at startup:
    the table's own metrics plus ``registered`` names (register_metric), taken as numeric."""
    kinds = {"pass_rate": BINARY, **{n: NUMERIC for n in NUMERIC_METRICS}}
    kinds |= {"status": CATEGORICAL, "trajectory": TRAJECTORY, "output_text": TEXT}
    for name in registered:
        kinds.setdefault(name, NUMERIC)
    return kinds


def check_gate(gate: GateConfig, kinds: dict[str, str]) -> None:
    """Unknown metrics and gates that make no sense for the metric's type are config errors.
    A judge check's metric exists once its case runs: any ``judge:<name>`` may be gated."""
    kinds = {**{n: NUMERIC for n in gate.metrics if n.startswith(JUDGE_PREFIX)}, **kinds}
    gate.validate_metrics(kinds)
    for name, g in gate.metrics.items():
        check_bounded_margin(g, kinds[name])
        if kinds[name] == CATEGORICAL:
            raise GateConfigError(
                f"[tool.opsladder.gate] {name} is categorical and cannot be gated (its drift is "
                "reported with a JS-distance test); gate a numeric or pass/fail metric instead",
                key=name,
            )
        if kinds[name] in (TRAJECTORY, TEXT) and g.worse is not Worse.HIGHER:
            raise GateConfigError(
                f"[tool.opsladder.gate] {name}.worse = {g.worse.value!r}: {name} is a distance "
                'that degrades upwards; write worse = "higher"',
                key=f"{name}.worse",
            )


def check_bounded_margin(g: MetricGate, kind: str) -> None:
    """A proportion or a normalised distance lies in [0, 1]: an absolute margin of 1 or more
    can never be exceeded, so the gate could not fail."""
    bounded = kind in (BINARY, TRAJECTORY, TEXT) and g.margin_kind is MarginKind.ABSOLUTE
    if bounded and g.margin >= 1:
        raise GateConfigError(
            f"[tool.opsladder.gate] {g.name}.margin = {g.margin:g}: {g.name} lies in [0, 1], "
            "so a margin of 1 or more is never exceeded and the gate could not fail; write "
            f"an absolute margin below 1 (for example {g.name} = {{worse = "
            f'"{g.worse.value}", margin = 0.05}})',
            key=f"{g.name}.margin",
        )


def prepare_table(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index[Any]]:
    """The working copy every scorer groups on: integer case codes (grouping on strings costs
    more than all the tests together at 100,000 runs), the pass rate as a float, and one
    hashable key per trajectory. Returns it with the case ids in code order."""
    import pandas as pd

    codes, names = pd.factorize(table["case_id"].astype(str), sort=True)
    roles = pd.Categorical(table["role"], categories=["baseline", "candidate"])
    work = table.assign(
        case_id=codes,
        role=roles,
        pass_rate=table["passed"].astype(float),
        _traj_key=sl.trajectory_keys(table["trajectory"]),
    )
    return work, pd.Index(names)


def epochs_of(table: pd.DataFrame) -> int:
    """Runs per case and role (the largest), the K of the per-case reduction."""
    if table.empty:
        return 1
    return int(table.groupby(["role", "case_id"], observed=True).size().max())


def score_metrics(
    table: pd.DataFrame,
    gate: GateConfig,
    kinds: dict[str, str],
    *,
    missing_cases: int = 0,
    with_mde: bool = True,
    unchanged: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One results entry per metric, gated ones Holm-adjusted with verdicts.

    Log-scale metrics are reduced per case as the mean of logs (a geometric mean), so a
    different number of epochs per side does not shift them. Ungated metrics constant in both
    arms are not tested: they go to ``unchanged`` (name -> value) instead of an entry.
    """
    ctx = Context(gate, len(gate.metrics), epochs_of(table), missing_cases, with_mde)
    numeric = [n for n, k in kinds.items() if k == NUMERIC]
    data = table.assign(pass_rate=table["passed"].astype(float))
    logs = log_columns(data, numeric, gate)
    data = data.assign(**{n: np.log(data[n].to_numpy(dtype=float)) for n in logs})
    binary = [n for n, k in kinds.items() if k == BINARY and n != "pass_rate"]  # judges 0/1
    base, cand = reduce_cases(data, ["pass_rate", *binary, *numeric])
    entries = []
    for name, kind in kinds.items():
        g = gate.metrics.get(name)
        if kind in (BINARY, NUMERIC):
            b, c = base[name].to_numpy(dtype=float), cand[name].to_numpy(dtype=float)
            value = constant_value(b, c)
            if g is None and value is not None:
                if unchanged is not None:
                    unchanged[name] = float(np.exp(value)) if name in logs else value
                continue
            if kind == BINARY:
                entries.append(score_binary(name, b, c, g, ctx))
            else:
                entries.append(score_numeric(name, b, c, g, ctx, log=name in logs))
        elif kind == CATEGORICAL:
            entries.append(sl.score_categorical(name, data, ctx))
        else:
            mode = (g.match if g else None) or gate.trajectory_match if kind == TRAJECTORY else None
            entries.append(score_excess(name, kind, data, g, ctx, mode))
    apply_gate(entries, gate)
    return entries


def log_columns(data: pd.DataFrame, numeric: list[str], gate: GateConfig) -> set[str]:
    """Numeric metrics compared as ratios: wanted on a log scale and positive wherever known."""
    out = set()
    for name in numeric:
        if not wants_log(name, gate.metrics.get(name)):
            continue
        values = data[name].to_numpy(dtype=float)
        known = values[np.isfinite(values)]
        if known.size and np.all(known > 0):
            out.add(name)
    return out


def constant_value(b: Any, c: Any) -> float | None:
    """The one value a metric takes on every paired case of both arms, else None."""
    both = np.concatenate([b, c])
    known = both[np.isfinite(both)]
    if known.size == 0 or known.size != both.size or np.any(known != known[0]):
        return None
    return float(known[0])


def diagnostics(table: pd.DataFrame, gate: GateConfig) -> list[dict[str, Any]]:
    """Per tool, per error code and per status: never gated, Benjamini-Hochberg within group."""
    ctx = Context(gate, 0, epochs_of(table))
    errors = table["error"]
    has_error = errors.notna().to_numpy()
    codes = np.full(len(table), "none", dtype=object)
    codes[has_error] = [_error_code(e) for e in errors[has_error].tolist()]
    groups = [
        ("tool", *sl.tool_shares(table)),
        ("error_code", *sl.category_shares(table.assign(error_code=codes), "error_code")),
        ("status", *sl.category_shares(table, "status")),
    ]
    out: list[dict[str, Any]] = []
    for group, base, cand in groups:
        rows = sl.category_diagnostics(group, base, cand, ctx) if len(base) else []
        for row, q in zip(rows, benjamini_hochberg([r["p_value"] for r in rows]), strict=True):
            out.append(row | {"q_value": q})
    return out


def add_unpaired_fallbacks(
    entries: list[dict[str, Any]], work: pd.DataFrame, kinds: dict[str, str]
) -> None:
    """When some cases ran on one side only (or too few are paired), also test every case seen
    on each side as independent samples: Fisher's exact test on per-case passes (one epoch),
    Mann-Whitney U on per-case means otherwise. Reported in ``extra["unpaired"]``, never gated:
    the gate stays paired."""
    cols = [n for n, k in kinds.items() if k in (BINARY, NUMERIC)]
    means = work.groupby(["role", "case_id"], observed=True)[cols].mean()
    roles = set(means.index.get_level_values(0).unique())
    if not {"baseline", "candidate"} <= roles:
        return
    base, cand = means.xs("baseline"), means.xs("candidate")
    for entry in entries:
        if entry["name"] in cols:
            b = base[entry["name"]].dropna().to_numpy(dtype=float)
            c = cand[entry["name"]].dropna().to_numpy(dtype=float)
            entry["extra"]["unpaired"] = _unpaired(entry["type"], b, c) | {
                "n_baseline": int(b.size),
                "n_candidate": int(c.size),
            }


def _unpaired(kind: str, b: Any, c: Any) -> dict[str, Any]:
    from pytest_opsladder.drift.paired_tests import fisher_unpaired, mann_whitney_unpaired

    binary = kind == BINARY and np.isin(b, (0.0, 1.0)).all() and np.isin(c, (0.0, 1.0)).all()
    if binary:
        res = fisher_unpaired(int(b.sum()), int(b.size), int(c.sum()), int(c.size))
    else:
        res = mann_whitney_unpaired(b, c)
    return {"test": res.test, "statistic": res.statistic, "p_value": res.p_value}


def _error_code(err: Any) -> str:
    return str(err.get("type", "error")) if isinstance(err, dict) else "none"


def aa_noise_floor(
    table: pd.DataFrame, gate: GateConfig, kinds: dict[str, str]
) -> dict[str, Any] | None:
    """Baseline epochs split in two halves and scored as if one were the candidate: the false
    alarms of this run's own pipeline. None unless the baseline has >= 2 epochs per case."""
    base = table[table["role"] == "baseline"]
    if base.empty:
        return None
    k = base.groupby("case_id").cumcount().to_numpy()
    size = base.groupby("case_id")["case_id"].transform("size").to_numpy()
    keep = size >= 2
    if not keep.any():
        return None
    first = int(np.min(size[keep])) // 2
    roles = np.where(k < size // 2, "baseline", "candidate")
    split = base.assign(role=roles)[keep]
    gated = {n: kinds[n] for n in gate.metrics}
    entries = score_metrics(split, gate, gated, with_mde=False) if gated else []
    return {
        "epochs_split": [first, int(np.min(size[keep])) - first],
        "metrics": [_aa_row(e) for e in entries],
        "false_alarms": sum(1 for e in entries if e["verdict"] == "fail"),
    }


def _aa_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "p_value": entry["p_value"],
        "p_adjusted": entry["p_adjusted"],
        "effect": entry["effect"]["estimate"],
        "verdict": entry["verdict"],
    }
