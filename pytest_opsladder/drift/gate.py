"""The CI gate's configuration and verdicts (ladder level 7).

``[tool.opsladder.gate]`` names the gated metrics with the direction in which each degrades and
the tolerance (margin); ``alpha`` is the family-wise level (default 0.01). A metric fails only
when the one-sided test says its degradation exceeds the margin after Holm's adjustment; a
sample too small to detect the margin is *inconclusive*, never a silent pass.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.drift.adjust import holm
from pytest_opsladder.drift.errors import GateConfigError, UnknownGateMetricError
from pytest_opsladder.drift.match_modes import MatchMode

ALIASES = {"latency": "latency_s", "pass": "pass_rate", "passed": "pass_rate"}
_TABLE_KEYS = {"alpha", "power", "seed", "min_cases", "trajectory_match"}
_METRIC_KEYS = {"worse", "margin", "match"}


class _ParsedEnum(StrEnum):
    @classmethod
    def parse(cls, value: object, *, key: str) -> Any:
        try:
            return cls(str(value))
        except ValueError:
            valid = ", ".join(repr(m.value) for m in cls)
            raise GateConfigError(
                f"[tool.opsladder.gate] {key} = {value!r} is not valid. Valid values are: {valid}",
                key=key,
            ) from None


class Worse(_ParsedEnum):
    """The direction in which a metric degrades."""

    LOWER = "lower"
    HIGHER = "higher"


class MarginKind(_ParsedEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Verdict(_ParsedEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_GATED = "not_gated"


@dataclass(frozen=True)
class MetricGate:
    """One gated metric: degrades when it moves ``worse``; tolerated up to ``margin``."""

    name: str
    worse: Worse
    margin: float = 0.0
    margin_kind: MarginKind = MarginKind.ABSOLUTE
    match: MatchMode | None = None


@dataclass(frozen=True)
class GateConfig:
    """The whole gate: gated metrics, family-wise alpha, power for the MDE, bootstrap seed."""

    metrics: dict[str, MetricGate] = field(default_factory=dict)
    alpha: float = 0.01
    power: float = 0.8
    seed: int = 0
    min_cases: int = 5
    trajectory_match: MatchMode = MatchMode.STRICT

    @classmethod
    def default(cls) -> GateConfig:
        """Used when a project configures no gate: the pass rate may not drop by more than 5
        points. (A margin of 0 can never pass: no finite suite rules out an arbitrarily small
        drop, so it can only fail or be inconclusive.)"""
        return cls({"pass_rate": MetricGate("pass_rate", Worse.LOWER, 0.05)})

    def validate_metrics(self, available: Iterable[str]) -> None:
        """Raise :class:`UnknownGateMetricError` for a gated metric that is not scored."""
        valid = sorted(set(available))
        for name in self.metrics:
            if name not in valid:
                raise UnknownGateMetricError(name, valid)

    def to_dict(self) -> dict[str, Any]:
        """The ``[tool.opsladder.gate]`` form, for shard headers (round-trips through parse)."""
        out: dict[str, Any] = {"alpha": self.alpha, "power": self.power, "seed": self.seed}
        out.update(min_cases=self.min_cases, trajectory_match=self.trajectory_match.value)
        for name, g in self.metrics.items():
            margin: Any = (
                f"{g.margin * 100:g}%" if g.margin_kind is MarginKind.RELATIVE else g.margin
            )
            entry: dict[str, Any] = {"worse": g.worse.value, "margin": margin}
            out[name] = entry | ({"match": g.match.value} if g.match else {})
        return out


def parse_gate_config(raw: Mapping[str, Any]) -> GateConfig:
    """Validate a ``[tool.opsladder.gate]`` table; every error names the key at fault."""
    settings = {k: raw[k] for k in raw if k in _TABLE_KEYS}
    metrics = {}
    for key, value in raw.items():
        if key in _TABLE_KEYS:
            continue
        gate = _parse_metric(str(key), value)
        metrics[gate.name] = gate
    return GateConfig(metrics, **_parse_settings(settings))


def load_gate_config(pyproject: Path | str) -> GateConfig:
    """The gate of a pyproject.toml; :meth:`GateConfig.default` when it has no gate table."""
    path = Path(pyproject)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GateConfigError(f"cannot read the gate from {str(path)!r}: {exc}") from exc
    table = data.get("tool", {}).get("opsladder", {}).get("gate")
    if table is None:
        return GateConfig.default()
    if not isinstance(table, Mapping):
        raise GateConfigError(f"{path}: [tool.opsladder.gate] must be a table", key="gate")
    return parse_gate_config(table)


def _parse_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("alpha", "power"):
        if key in raw:
            out[key] = _probability(raw[key], key)
    for key in ("seed", "min_cases"):
        if key in raw:
            value = raw[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise GateConfigError(
                    f"[tool.opsladder.gate] {key} = {value!r} must be a non-negative integer",
                    key=key,
                )
            out[key] = value
    if "trajectory_match" in raw:
        out["trajectory_match"] = _match(raw["trajectory_match"], "trajectory_match")
    return out


def _probability(value: Any, key: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1
    if not ok:
        raise GateConfigError(
            f"[tool.opsladder.gate] {key} = {value!r} must be a number strictly between 0 and 1 "
            f"(for example {key} = 0.01)",
            key=key,
        )
    return float(value)


def _match(value: Any, key: str) -> MatchMode:
    try:
        return MatchMode.parse(value)
    except ValueError as exc:
        raise GateConfigError(f"[tool.opsladder.gate] {key}: {exc}", key=key) from None


def _parse_metric(key: str, value: Any) -> MetricGate:
    if not isinstance(value, Mapping):
        raise GateConfigError(
            f"[tool.opsladder.gate] {key} = {value!r} must be a table such as "
            f'{key} = {{worse = "higher", margin = "10%"}}',
            key=key,
        )
    unknown = sorted(set(value) - _METRIC_KEYS)
    if unknown:
        raise GateConfigError(
            f"[tool.opsladder.gate] {key} has unknown key(s) {unknown!r}; valid keys are "
            f"{sorted(_METRIC_KEYS)}",
            key=f"{key}.{unknown[0]}",
        )
    if "worse" not in value:
        raise GateConfigError(
            f'[tool.opsladder.gate] {key} needs worse = "lower" or worse = "higher"',
            key=f"{key}.worse",
        )
    worse = Worse.parse(value["worse"], key=f"{key}.worse")
    margin, kind = _margin(value.get("margin", 0.0), f"{key}.margin")
    match = _match(value["match"], f"{key}.match") if "match" in value else None
    return MetricGate(ALIASES.get(key, key), worse, margin, kind, match)


def _margin(value: Any, key: str) -> tuple[float, MarginKind]:
    """A number is absolute (in the metric's unit); ``"10%"`` is relative to the baseline."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value), MarginKind.ABSOLUTE
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            pct = float(value.strip()[:-1])
        except ValueError:
            pct = -1.0
        if pct >= 0:
            return pct / 100.0, MarginKind.RELATIVE
    raise GateConfigError(
        f"[tool.opsladder.gate] {key} = {value!r} must be a non-negative number (absolute, in "
        'the metric\'s unit) or a percentage string such as "10%" (relative to the baseline)',
        key=key,
    )


def apply_gate(metrics: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    """Holm-adjust the gated metrics in place, give each a verdict; return the overall one."""
    gated = [m for m in metrics if m["gated"]]
    for m, p_adj in zip(gated, holm([m["p_value"] for m in gated]), strict=True):
        m["p_adjusted"] = p_adj
        m["verdict"], m["reason"] = _metric_verdict(m, gate)
    return overall_verdict(gated, gate)


def _metric_verdict(m: dict[str, Any], gate: GateConfig) -> tuple[str, str]:
    name, margin = m["name"], _fmt_margin(m)
    if m["n"] < gate.min_cases:
        return Verdict.INCONCLUSIVE, (
            f"{name}: only {m['n']} case(s) have both a baseline and a candidate; "
            f"at least {gate.min_cases} are needed to test it"
        )
    if m["p_adjusted"] < gate.alpha:
        return Verdict.FAIL, (
            f"{name} degraded beyond its margin {margin} "
            f"(p_holm={m['p_adjusted']:.3g} < alpha={gate.alpha:g})"
        )
    if m["mde"] is None or m["mde"] > m["margin"]:
        return Verdict.INCONCLUSIVE, (
            f"{name}: no degradation beyond {margin} detected, but with {m['n']} cases the "
            f"minimum detectable effect is {_fmt(m['mde'])} > margin {margin}; add cases"
        )
    return Verdict.PASS, (
        f"{name}: no degradation beyond {margin} (p_holm={m['p_adjusted']:.3g} >= "
        f"alpha={gate.alpha:g}, minimum detectable effect {_fmt(m['mde'])})"
    )


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3g}"


def _fmt_margin(m: dict[str, Any]) -> str:
    return f"{m['margin'] * 100:g}%" if m["margin_kind"] == "relative" else f"{m['margin']:g}"


def overall_verdict(gated: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    for verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        hits = [m for m in gated if m["verdict"] == verdict]
        if hits:
            return verdict.value, "; ".join(m["reason"] for m in hits)
    if not gated:
        return Verdict.PASS.value, "no metric is gated"
    return Verdict.PASS.value, (
        f"no gated metric degraded beyond its margin at alpha={gate.alpha:g} (Holm over "
        f"{len(gated)} metric(s))"
    )
