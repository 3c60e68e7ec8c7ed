"""A generator of suites (cases x epochs) and the gate's self-check on it (ladder level 7).

The gate promises two things: with no real change it fails at most alpha of the time, and a real
regression of the declared size is caught most of the time. Both are measured here by scoring
many simulated suites whose truth is known: cases differ in difficulty and latency (a case
effect shared by both sides and all epochs), so a scorer that treated epochs as independent
pairs would show its false alarms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_opsladder.drift.gate import GateConfig, parse_gate_config

if TYPE_CHECKING:
    import pandas as pd

TOOLS = ("search", "lookup", "draft", "send", "tag", "summarise")
SELFCHECK_GATE = {
    "pass_rate": {"worse": "lower", "margin": 0.0},
    "latency_s": {"worse": "higher", "margin": 0.0},
    "tool_calls": {"worse": "higher", "margin": 0.0},
}


@dataclass(frozen=True)
class Effects:
    """True changes of the candidate: pass-rate drop, latency ratio, extra tool calls."""

    pass_drop: float = 0.0
    latency_ratio: float = 1.0
    extra_tool_calls: float = 0.0
    trajectory_noise: float = 0.0

    def describe(self) -> str:
        parts = []
        if self.pass_drop:
            parts.append(f"pass rate -{self.pass_drop:g}")
        if self.latency_ratio != 1.0:
            parts.append(f"latency x{self.latency_ratio:g}")
        if self.extra_tool_calls:
            parts.append(f"tool calls +{self.extra_tool_calls:g}")
        return ", ".join(parts) or "no drift"


@dataclass
class Suite:
    """Per-case traits shared by baseline and candidate (what makes runs of a case alike)."""

    pass_p: np.ndarray[Any, np.dtype[np.float64]]
    log_latency: np.ndarray[Any, np.dtype[np.float64]]
    tool_rate: np.ndarray[Any, np.dtype[np.float64]]
    routes: list[list[str]] = field(default_factory=list)


def make_suite(n_cases: int, rng: np.random.Generator) -> Suite:
    difficulty = rng.normal(0.0, 1.5, n_cases)
    routes = [list(rng.choice(TOOLS, size=int(rng.integers(1, 5)))) for _ in range(n_cases)]
    return Suite(
        pass_p=1.0 / (1.0 + np.exp(difficulty - 1.5)),
        log_latency=rng.normal(math.log(0.8), 0.6, n_cases),
        tool_rate=rng.gamma(2.0, 1.5, n_cases),
        routes=routes,
    )


def simulate_table(
    n_cases: int, epochs: int, effects: Effects, rng: np.random.Generator
) -> pd.DataFrame:
    """A metrics table (the columns :func:`~.table.metrics_table` produces) with known truth."""
    import pandas as pd

    suite = make_suite(n_cases, rng)
    frames = [_side(suite, epochs, "baseline", Effects(), rng)]
    frames.append(_side(suite, epochs, "candidate", effects, rng))
    return pd.concat(frames, ignore_index=True)


def _side(
    suite: Suite, epochs: int, role: str, fx: Effects, rng: np.random.Generator
) -> pd.DataFrame:
    import pandas as pd

    n = suite.pass_p.size
    case = np.repeat(np.arange(n), epochs)
    pass_p = np.clip(suite.pass_p - fx.pass_drop, 0.0, 1.0)[case]
    latency = np.exp(suite.log_latency[case] + rng.normal(0.0, 0.25, case.size)) * fx.latency_ratio
    tools = rng.poisson(suite.tool_rate[case] + fx.extra_tool_calls)
    errors = rng.random(case.size) < 0.03
    return pd.DataFrame(
        {
            "case_id": [f"case-{i:05d}" for i in case],
            "variant": role,
            "role": role,
            "epoch": np.tile(np.arange(epochs), n),
            "run_id": [f"{role}-{j}" for j in range(case.size)],
            "status": np.where(errors, "error", "complete"),
            "model": "sim",
            "latency_s": latency,
            "tokens_in": rng.poisson(300, case.size).astype(float),
            "tokens_out": rng.poisson(60, case.size).astype(float),
            "cost": np.zeros(case.size),
            "tool_calls": tools.astype(float),
            "retries": rng.poisson(0.2, case.size).astype(float),
            "errors": errors.astype(float),
            "guardrail_denials": np.zeros(case.size),
            "passed": rng.random(case.size) < pass_p,
            "divergences": 0.0,
            "first_divergence_step": np.nan,
            "trajectory": [_route(suite.routes[i], fx.trajectory_noise, rng) for i in case],
            "output_text": "",
            "error": None,
        }
    )


def _route(route: list[str], noise: float, rng: np.random.Generator) -> list[str]:
    """The case's usual tool route; with probability 0.1 + noise one step differs."""
    out = list(route)
    if rng.random() < 0.1 + noise:
        out[int(rng.integers(0, len(out)))] = str(rng.choice(TOOLS))
    return out


@dataclass(frozen=True)
class Rate:
    """A rate over simulations with its Monte Carlo standard error."""

    hits: int
    sims: int
    mean_mde: dict[str, float]

    @property
    def rate(self) -> float:
        return self.hits / self.sims

    @property
    def mc_error(self) -> float:
        p = self.rate
        return math.sqrt(max(p * (1 - p), 1.0 / self.sims) / self.sims)


def gate_fail_rate(
    *,
    n_cases: int,
    epochs: int,
    sims: int,
    seed: int,
    effects: Effects,
    gate: GateConfig | None = None,
) -> Rate:
    """How often the gate fails across ``sims`` simulated suites."""
    from pytest_opsladder.drift.scoring import metric_catalogue, score_metrics

    gate = gate or parse_gate_config(SELFCHECK_GATE)
    rng = np.random.default_rng(seed)
    hits, mdes = 0, {name: 0.0 for name in gate.metrics}
    for _ in range(sims):
        table = simulate_table(n_cases, epochs, effects, rng)
        kinds = metric_catalogue(table, text=False)
        entries = score_metrics(table, gate, {n: kinds[n] for n in gate.metrics})
        hits += any(e["verdict"] == "fail" for e in entries)
        for e in entries:
            mdes[e["name"]] += (e["mde"] or math.nan) / sims
    return Rate(hits, sims, mdes)


def gate_with_alpha(alpha: float, base: Mapping[str, Any] = SELFCHECK_GATE) -> GateConfig:
    return parse_gate_config({**base, "alpha": alpha})
