"""The metrics table drift scoring reads: one pandas row per run (ladder level 7).

Rows come from run dicts (``Run.to_dict()``, as stored in cassettes) plus what only the shadow
runner knows about a run: its role, whether the case's checks passed, divergences. Costs are
computed here from token usage and a price table, so a price change never needs a re-run.
"""

from __future__ import annotations

import json
import math
import re
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
    "judges",
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
    UNPRICED.clear()
    rows = [_row(r, e, prices or {}, baseline) for r, e in zip(run_list, extra_list, strict=True)]
    frame = coerce_types(pd.DataFrame(rows, columns=table_columns(rows)))
    frame.attrs["unpriced_models"] = sorted(UNPRICED)
    return frame


def table_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The fixed columns of the metrics table, then every other key of ``rows``, sorted."""
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


def fresh_metrics(run: Mapping[str, Any]) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
    """The run's metrics recomputed from its events and HTTP now (derived on read), over the
    stored ones (a cache, kept for metrics no longer registered); with the derived events."""
    from pytest_opsladder.capture.metrics import compute_metrics
    from pytest_opsladder.capture.run import Run

    stored = dict(run.get("metrics") or {})
    try:
        loaded = Run.from_dict(dict(run))
    except (KeyError, TypeError, ValueError):  # a hand-made row without a full run: as stored
        return stored, list(run.get("events") or [])
    fresh = compute_metrics(loaded)
    shadow_only = {k: stored[k] for k in _SHADOW_METRICS if k in stored}
    return {**stored, **fresh, **shadow_only}, [e.to_dict() for e in loaded.events]


# Set by the shadow runner after the run's own metrics; not recomputable from the run alone.
_SHADOW_METRICS = ("divergences", "first_divergence_step")


def _row(
    run: Mapping[str, Any], extra: Mapping[str, Any], prices: PriceTable, baseline: str | None
) -> dict[str, Any]:
    facts = {**run, **extra}
    metrics, events = fresh_metrics(run)
    row = _identity(run, facts, baseline)
    row.update({name: _number(metrics.get(name)) for name in NUMERIC_METRICS})
    row["guardrail_denials"] = _number(metrics.get("guardrail_denials", 0))
    row["cost"] = _cost(events, row, prices)
    row.update(_judge_cost(events, prices))
    row.update(_shadow_facts(facts, run))
    row["steps"] = _steps(events)
    row["judges"] = _judges(events)
    row["trajectory"] = [step["tool"] for step in row["steps"]]
    row["output_text"] = _as_text(run.get("output"))
    row.update(_extra_metrics(metrics))
    if row["status"] != "complete":
        row.update(unobserved(row))
    return row


def unobserved(row: Mapping[str, Any]) -> dict[str, float]:
    """A run that errored or never finished did not observe its cost, tokens, latency or any
    other number: each is NaN (a lost pair), never the 0 of calls it never made. Its pass/fail
    and status are observed (it failed). Bookkeeping (``_`` columns) is kept as it was."""
    fixed = {*ID_COLUMNS, *OTHER_COLUMNS}
    numeric = [k for k, v in row.items()
               if isinstance(v, float) and k not in fixed and not k.startswith("_")]  # fmt: skip
    return {k: math.nan for k in {*NUMERIC_METRICS, *numeric}}


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
    """Sum per LLM call at the call's own model (a run may use several); NaN if a call's
    model is unpriced or its tokens are unknown: a made-up zero would pass any cost gate."""
    calls = [e for e in events if e.get("kind") == "llm_call"]
    if not calls:
        tokens = (row["tokens_in"], row["tokens_out"])
        if tokens == (0, 0):
            return 0.0
        price = _price_of(row.get("model"), prices)
        return price.cost(*tokens) if price else _unpriced(row.get("model"))
    total = 0.0
    for call in calls:
        data = call.get("data") or {}
        tin, tout = _tokens(data.get("usage") or {})
        if tin is None or tout is None:
            return math.nan
        model = data.get("model") or data.get("response_model") or row.get("model")
        price = _price_of(model, prices)
        if price is None:
            return _unpriced(model)
        total += price.cost(tin, tout)
    return total


def _judges(events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each model-graded check's verdict on the run (name, score, passed, reason or error)."""
    keys = ("name", "score", "passed", "reason", "error")
    return [
        {k: (e.get("data") or {}).get(k) for k in keys} for e in events if e.get("kind") == "judge"
    ]


def _judge_cost(events: list[Mapping[str, Any]], prices: PriceTable) -> dict[str, float]:
    """The judge's own cost (model-graded checks), apart from the agent's: at the judge
    model's price; NaN when unpriced. No judge call, no column."""
    calls = [e.get("data") or {} for e in events if e.get("kind") == "judge"]
    if not calls:
        return {}
    total = 0.0
    for data in calls:
        usage = data.get("usage") or {}
        model = (data.get("judge_model") or {}).get("model")
        price = _price_of(model, prices)
        if price is None:
            return {"judge_cost": _unpriced(model)}
        tin, tout = _number(usage.get("input")), _number(usage.get("output"))
        if math.isnan(tin) or math.isnan(tout):
            return {"judge_cost": math.nan}  # a judge call without usage: cost unknown, not 0
        total += price.cost(tin, tout)
    return {"judge_cost": total}


def _tokens(usage: Mapping[str, Any]) -> tuple[int | None, int | None]:
    def first(*keys: str) -> int | None:
        return next((int(usage[k]) for k in keys if isinstance(usage.get(k), int | float)), None)

    return first("input_tokens", "prompt_tokens"), first("output_tokens", "completion_tokens")


UNPRICED: set[str] = set()  # models seen without a price, for the session's one warning


def _unpriced(model: Any) -> float:
    UNPRICED.add(str(model))
    return math.nan


_DATE_SUFFIX = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest|preview)$")


def price_key(model: Any, prices: Mapping[str, Any]) -> str | None:
    """The price-table entry for a model: exact, else without its date or version suffix
    (``gpt-4.1-2025-04-14`` is ``gpt-4.1``), else without a ``provider/`` prefix, else ``*``."""
    if model is None:
        return "*" if "*" in prices else None
    name = str(model)
    while True:
        for candidate in (name, name.rsplit("/", 1)[-1]):
            if candidate in prices:
                return candidate
        shorter = _DATE_SUFFIX.sub("", name)
        if shorter == name:
            return "*" if "*" in prices else None
        name = shorter


def _price_of(model: Any, prices: PriceTable) -> Price | None:
    key = price_key(model, prices)
    return prices[key] if key is not None else None


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
    """Further metrics a rung or hook registered: numbers become float, labels stay strings.
    Bookkeeping (``http_*`` counts ...) gets a leading ``_``: provenance, never tested."""
    from pytest_opsladder.capture.metrics import is_bookkeeping

    out: dict[str, Any] = {}
    for name, value in metrics.items():
        if name in _NOT_EXTRA or name in NUMERIC_METRICS or name == "guardrail_denials":
            continue
        key = f"_{name}" if is_bookkeeping(name) else name
        if isinstance(value, bool | int | float) or value is None:
            out[key] = _number(value)
        elif isinstance(value, str):
            out[key] = value
    return out
