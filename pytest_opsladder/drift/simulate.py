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
from dataclasses import dataclass, field, replace
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
# What `opsladder selfcheck` gates: the default pass-rate margin, a log-normal latency with a
# relative margin, and a tie-heavy count (retries: most cases never retry) at margin 0.
EVIDENCE_GATE = {
    "pass_rate": {"worse": "lower", "margin": 0.05},
    "latency_s": {"worse": "higher", "margin": "10%"},
    "retries": {"worse": "higher", "margin": 0.0},
}


@dataclass(frozen=True)
class Effects:
    """True changes of the candidate: pass-rate drop, latency ratio, extra tool calls."""

    pass_drop: float = 0.0
    latency_ratio: float = 1.0
    extra_tool_calls: float = 0.0
    trajectory_noise: float = 0.0
    extra_retries: float = 0.0  # chance of one more retry per candidate run (a tie-heavy count)

    def describe(self) -> str:
        parts = []
        if self.pass_drop:
            parts.append(f"pass rate -{self.pass_drop:g}")
        if self.latency_ratio != 1.0:
            parts.append(f"latency x{self.latency_ratio:g}")
        if self.extra_tool_calls:
            parts.append(f"tool calls +{self.extra_tool_calls:g}")
        if self.extra_retries:
            parts.append(f"retries +{self.extra_retries:g}")
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
    n_cases: int,
    epochs: int,
    effects: Effects,
    rng: np.random.Generator,
    *,
    candidate_epochs: int | None = None,
) -> pd.DataFrame:
    """A metrics table (the columns :func:`~.table.metrics_table` produces) with known truth;
    ``candidate_epochs`` gives the candidate a different number of epochs than the baseline."""
    import pandas as pd

    suite = make_suite(n_cases, rng)
    frames = [_side(suite, epochs, "baseline", Effects(), rng)]
    frames.append(_side(suite, candidate_epochs or epochs, "candidate", effects, rng))
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
            "retries": (
                rng.poisson(0.2, case.size) + (rng.random(case.size) < fx.extra_retries)
            ).astype(float),
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

    def clopper_pearson(self, level: float = 0.95) -> tuple[float, float]:
        """Exact (Clopper-Pearson) interval of the rate."""
        return clopper_pearson(self.hits, self.sims, level)


def clopper_pearson(hits: int, sims: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    tail = (1 - level) / 2
    lo = float(beta.ppf(tail, hits, sims - hits + 1)) if hits else 0.0
    hi = float(beta.isf(tail, hits + 1, sims - hits)) if hits < sims else 1.0
    return lo, hi


@dataclass
class GateRates:
    """Per simulated suite: did the gate fail, and which metric failed or passed."""

    sims: int = 0
    gate_fails: int = 0
    fails: dict[str, int] = field(default_factory=dict)
    passes: dict[str, int] = field(default_factory=dict)
    mde_sum: dict[str, float] = field(default_factory=dict)
    mde_count: dict[str, int] = field(default_factory=dict)

    def add(self, entries: list[dict[str, Any]]) -> None:
        self.sims += 1
        self.gate_fails += any(e["verdict"] == "fail" for e in entries)
        for e in entries:
            name = e["name"]
            self.fails[name] = self.fails.get(name, 0) + (e["verdict"] == "fail")
            self.passes[name] = self.passes.get(name, 0) + (e["verdict"] == "pass")
            if e["mde"] is not None:
                self.mde_sum[name] = self.mde_sum.get(name, 0.0) + float(e["mde"])
                self.mde_count[name] = self.mde_count.get(name, 0) + 1

    def mean_mde(self) -> dict[str, float]:
        return {n: self.mde_sum[n] / self.mde_count[n] for n in self.mde_sum}

    def rate(self, name: str | None = None, *, verdict: str = "fail") -> Rate:
        counts = self.fails if verdict == "fail" else self.passes
        hits = self.gate_fails if name is None else counts.get(name, 0)
        return Rate(hits, self.sims, self.mean_mde())


def simulate_gate(
    *,
    n_cases: int,
    epochs: int,
    sims: int,
    seed: int,
    effects: Effects,
    gate: GateConfig,
    mde_sims: int = 0,
    candidate_epochs: int | None = None,
) -> GateRates:
    """Score ``sims`` simulated suites; the (slow, simulated) MDE on the first ``mde_sims``."""
    from pytest_opsladder.drift.scoring import metric_catalogue, score_metrics

    rng = np.random.default_rng(seed)
    out = GateRates()
    for i in range(sims):
        table = simulate_table(n_cases, epochs, effects, rng, candidate_epochs=candidate_epochs)
        kinds = metric_catalogue(table, text=False)
        gated = {n: kinds[n] for n in gate.metrics}
        out.add(score_metrics(table, gate, gated, with_mde=i < mde_sims))
    return out


def gate_fail_rate(
    *,
    n_cases: int,
    epochs: int,
    sims: int,
    seed: int,
    effects: Effects,
    gate: GateConfig | None = None,
    mde_sims: int = 0,
    candidate_epochs: int | None = None,
) -> Rate:
    """How often the gate fails across ``sims`` simulated suites."""
    rates = simulate_gate(
        n_cases=n_cases,
        epochs=epochs,
        sims=sims,
        seed=seed,
        effects=effects,
        gate=gate or parse_gate_config(SELFCHECK_GATE),
        mde_sims=mde_sims,
        candidate_epochs=candidate_epochs,
    )
    return rates.rate()


def gate_with_alpha(alpha: float, base: Mapping[str, Any] = SELFCHECK_GATE) -> GateConfig:
    return parse_gate_config({**base, "alpha": alpha})


def effect_at(name: str, degradation: float) -> Effects:
    """The simulator's effect that degrades one gated metric of EVIDENCE_GATE by
    ``degradation`` in its margin's unit (pass-rate points, a latency fraction, retries)."""
    if name == "pass_rate":
        return Effects(pass_drop=degradation)
    if name == "latency_s":
        return Effects(latency_ratio=1.0 + degradation)
    if name == "retries":
        return Effects(extra_retries=degradation)
    raise ValueError(f"no simulated effect for {name!r}; valid: pass_rate, latency_s, retries")


def margins_effect(gate: GateConfig) -> Effects:
    """Every gated metric of EVIDENCE_GATE degraded exactly by its margin: the worst null."""
    fx, default = Effects(), Effects()
    for name, g in gate.metrics.items():
        one = effect_at(name, g.margin)
        changed = {k: v for k, v in vars(one).items() if v != getattr(default, k)}
        fx = replace(fx, **changed)
    return fx
