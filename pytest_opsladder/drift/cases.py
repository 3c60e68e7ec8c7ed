"""The per-case part of the results JSON: verdicts, deltas, both sides' runs (ladder level 7).

A reviewer reads a drift report from the top, so regressions come first (most severe first),
then candidate errors, improvements, unchanged cases, and the cases one side is missing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_ORDER = {"regressed": 0, "error": 1, "improved": 2, "unchanged": 3}
_ORDER |= {"missing_candidate": 4, "missing_baseline": 5}
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_summary(row: Mapping[str, Any], metric_names: list[str]) -> dict[str, Any]:
    """RUN_SUMMARY of the results schema, from one metrics-table row."""
    return {
        "run_id": row["run_id"],
        "epoch": int(row["epoch"]),
        "status": row["status"],
        "passed": bool(row["passed"]),
        "failed_checks": list(row.get("failed_checks") or []),
        "output_text": row.get("output_text") or "",
        "trajectory": list(row.get("steps") or []),
        "judges": list(row.get("judges") or []),
        "metrics": {m: _clean(row[m]) for m in metric_names if m in row},
        "divergences": int(_clean(row.get("divergences")) or 0),
        "error": _error(row.get("error")),
    }


def _error(err: Any) -> dict[str, Any] | None:
    if not isinstance(err, Mapping):
        return None
    return {"type": str(err.get("type", "")), "message": str(err.get("message", ""))}


def build_cases(
    table: pd.DataFrame,
    deltas: pd.DataFrame,
    metric_names: list[str],
    case_meta: Mapping[str, Mapping[str, Any]],
    first_divergences: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One entry per case seen on either side, sorted regressions first."""
    runs: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    records: list[dict[str, Any]] = table.sort_values(["case_id", "role", "epoch"]).to_dict(
        "records"
    )  # type: ignore[assignment]
    for row in records:
        runs[str(row["case_id"])][str(row["role"])].append(run_summary(row, metric_names))
    delta_rows: dict[Any, dict[str, Any]] = deltas.to_dict("index")  # type: ignore[assignment]
    out = []
    for case_id, sides in runs.items():
        meta = case_meta.get(case_id) or {}
        d = {k: _clean(v) for k, v in (delta_rows.get(case_id) or {}).items()}
        out.append(
            {
                "case_id": case_id,
                "tags": list(meta.get("tags") or []),
                "severity": meta.get("severity"),
                "verdict": _verdict(sides, d),
                "metric_deltas": d,
                "first_divergence": first_divergences.get(case_id),
                "baseline": {"runs": sides.get("baseline", [])},
                "candidate": {"runs": sides.get("candidate", [])},
            }
        )
    return sorted(out, key=_sort_key)


def _verdict(sides: Mapping[str, list[dict[str, Any]]], deltas: Mapping[str, Any]) -> str:
    if not sides.get("baseline"):
        return "missing_baseline"
    if not sides.get("candidate"):
        return "missing_candidate"
    cand_errors = any(r["status"] == "error" for r in sides["candidate"])
    if cand_errors and not any(r["status"] == "error" for r in sides["baseline"]):
        return "error"
    delta = deltas.get("pass_rate") or 0.0
    return "regressed" if delta < 0 else "improved" if delta > 0 else "unchanged"


def _sort_key(case: Mapping[str, Any]) -> tuple[int, int, float, str]:
    severity = _SEVERITY.get(str(case["severity"]).lower(), 4)
    delta = case["metric_deltas"].get("pass_rate") or 0.0
    return (_ORDER[case["verdict"]], severity, float(delta), case["case_id"])
