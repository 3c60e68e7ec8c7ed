"""The metrics table drift scoring reads: one pandas row per run (ladder level 7).

Rows come from run dicts (``Run.to_dict()``, as stored in cassettes) plus what only the shadow
runner knows about a run: its role, whether the case's checks passed, divergences. Costs are
computed here from token usage and a price table, so a price change never needs a re-run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_opsladder.drift.errors import GateConfigError

if TYPE_CHECKING:
    import pandas as pd

# Metrics every row has; numeric ones are scored with the paired numeric test.
NUMERIC_METRICS = (
    "latency_s",
    "tokens_in",
    "tokens_out",
    "cost",
    "tool_calls",
    "retries",
    "errors",
    "guardrail_denials",
)
ID_COLUMNS = ("case_id", "variant", "role", "epoch", "run_id", "status", "model")
OTHER_COLUMNS = (
    "passed",
    "failed_checks",
    "divergences",
    "first_divergence_step",
    "trajectory",
    "steps",
    "output_text",
    "error",
)
# Keys of run["metrics"] that are not extra metric columns (derived elsewhere or bookkeeping).
_NOT_EXTRA = {"trajectory", "metric_errors"}


@dataclass(frozen=True, slots=True)
class Price:
    """USD per one million input and output tokens of one model."""

    input_per_m: float
    output_per_m: float

    def cost(self, tokens_in: float, tokens_out: float) -> float:
        return (tokens_in * self.input_per_m + tokens_out * self.output_per_m) / 1e6


PriceTable = Mapping[str, Price]


def parse_prices(raw: Mapping[str, Any]) -> dict[str, Price]:
    """``{model = {input = 2.0, output = 8.0}}`` (``[tool.opsladder.prices]``) to a price table.

    The model ``"*"`` is the price of any model not listed; without it an unlisted model's cost
    is NaN (unknown), never a made-up zero.
    """
    return {str(model): _parse_price(str(model), spec) for model, spec in raw.items()}


def _parse_price(model: str, spec: Any) -> Price:
    if not isinstance(spec, Mapping) or set(spec) != {"input", "output"}:
        raise GateConfigError(
            f"[tool.opsladder.prices] {model} = {spec!r} is not a price: write "
            f"{model} = {{input = 2.5, output = 10.0}} (USD per 1M tokens)",
            key=f"prices.{model}",
        )
    values = [spec["input"], spec["output"]]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
        raise GateConfigError(
            f"[tool.opsladder.prices] {model}: prices must be non-negative numbers, got {values!r}",
            key=f"prices.{model}",
        )
    return Price(float(values[0]), float(values[1]))


def metrics_table(
    runs: Iterable[Mapping[str, Any]],
    *,
    extras: Sequence[Mapping[str, Any]] | None = None,
    prices: PriceTable | None = None,
    baseline: str | None = None,
) -> pd.DataFrame:
    """One row per run dict; ``extras[i]`` (or keys on the run dict itself) add shadow facts.

    Extra keys: ``role`` (baseline|candidate; derived from ``baseline`` = the baseline variant's
    name when absent), ``passed``, ``failed_checks``, ``divergences``, ``first_divergence_step``.
    Missing numbers are NaN, so one broken metric never drops its run.
    """
    import pandas as pd

    run_list = list(runs)
    extra_list = list(extras) if extras is not None else [{}] * len(run_list)
    if len(extra_list) != len(run_list):
        raise ValueError(f"extras has {len(extra_list)} items for {len(run_list)} runs")
    rows = [_row(r, e, prices or {}, baseline) for r, e in zip(run_list, extra_list, strict=True)]
    frame = pd.DataFrame(rows, columns=_columns(rows))
    return coerce_types(frame)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    fixed = [*ID_COLUMNS, *NUMERIC_METRICS, *OTHER_COLUMNS]
    extra = sorted({k for row in rows for k in row} - set(fixed))
    return fixed + extra


def coerce_types(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    for col in NUMERIC_METRICS:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["epoch"] = frame["epoch"].fillna(0).astype("int64")
    frame["divergences"] = pd.to_numeric(frame["divergences"], errors="coerce").fillna(0)
    frame["first_divergence_step"] = pd.to_numeric(
        frame["first_divergence_step"], errors="coerce"
    ).astype("float64")
    fixed = {*ID_COLUMNS, *NUMERIC_METRICS, *OTHER_COLUMNS}
    for col in [c for c in frame.columns if c not in fixed and frame[c].dtype == object]:
        values = frame[col].dropna()
        if values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all():
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def _row(
    run: Mapping[str, Any], extra: Mapping[str, Any], prices: PriceTable, baseline: str | None
) -> dict[str, Any]:
    facts = {**run, **extra}
    metrics = dict(run.get("metrics") or {})
    events = list(run.get("events") or [])
    row = _identity(run, facts, baseline)
    row.update({name: _number(metrics.get(name)) for name in NUMERIC_METRICS})
    row["guardrail_denials"] = _number(metrics.get("guardrail_denials", 0))
    row["cost"] = _cost(events, row, prices)
    row.update(_shadow_facts(facts, run))
    row["steps"] = _steps(events)
    row["trajectory"] = [step["tool"] for step in row["steps"]]
    row["output_text"] = _as_text(run.get("output"))
    row.update(_extra_metrics(metrics))
    return row


def _identity(
    run: Mapping[str, Any], facts: Mapping[str, Any], baseline: str | None
) -> dict[str, Any]:
    variant = dict(run.get("variant") or {})
    name = str(variant.get("name", facts.get("variant", "")))
    role = facts.get("role") or (
        ("baseline" if name == baseline else "candidate") if baseline else None
    )
    if role not in ("baseline", "candidate"):
        raise ValueError(f"run of variant {name!r} has role {role!r}; pass role= or baseline=")
    return {
        "case_id": str((run.get("case") or {}).get("id", facts.get("case_id", ""))),
        "variant": name,
        "role": role,
        "epoch": int(run.get("epoch", facts.get("epoch", 0)) or 0),
        "run_id": str((run.get("manifest") or {}).get("run_id", facts.get("run_id", ""))),
        "status": str(run.get("status", "complete")),
        "model": variant.get("model"),
    }


def _shadow_facts(facts: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    passed = facts.get("passed")
    if passed is None:  # no checks ran: a run that completed counts as passed
        passed = run.get("status", "complete") == "complete"
    return {
        "passed": bool(passed),
        "failed_checks": list(facts.get("failed_checks") or []),
        "divergences": facts.get("divergences", 0),
        "first_divergence_step": facts.get("first_divergence_step"),
        "error": run.get("error"),
    }


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return math.nan


def _cost(events: list[Mapping[str, Any]], row: Mapping[str, Any], prices: PriceTable) -> float:
    """Sum per LLM call at the call's own model (a run may use several); NaN if unpriced."""
    calls = [e for e in events if e.get("kind") == "llm_call"]
    if not calls:
        price = _price_of(row.get("model"), prices)
        if row["tokens_in"] == 0 and row["tokens_out"] == 0:
            return 0.0
        return price.cost(row["tokens_in"], row["tokens_out"]) if price else math.nan
    total = 0.0
    for call in calls:
        data = call.get("data") or {}
        usage = data.get("usage") or {}
        price = _price_of(data.get("model") or row.get("model"), prices)
        tin, tout = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        if price is None and (tin or tout):
            return math.nan
        total += price.cost(tin, tout) if price else 0.0
    return total


def _price_of(model: Any, prices: PriceTable) -> Price | None:
    return prices.get(str(model)) if model is not None and str(model) in prices else prices.get("*")


def _steps(events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    steps = []
    for event in events:
        if event.get("kind") != "tool_call":
            continue
        data = event.get("data") or {}
        steps.append(
            {
                "tool": str(event.get("name", "")),
                "args": data.get("args"),
                "result": data.get("result"),
                "error": data.get("error"),
            }
        )
    return steps


def _as_text(output: Any) -> str:
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    return json.dumps(output, sort_keys=True, default=str)


def _extra_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Further metrics a rung or hook registered: numbers become float, labels stay strings."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if key in _NOT_EXTRA or key in NUMERIC_METRICS or key == "guardrail_denials":
            continue
        if isinstance(value, bool | int | float) or value is None:
            out[key] = _number(value)
        elif isinstance(value, str):
            out[key] = value
    return out
