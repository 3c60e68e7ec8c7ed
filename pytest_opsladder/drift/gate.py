"""The CI gate's configuration and verdicts (ladder level 7).

``[tool.opsladder.gate]`` names the gated metrics with the direction in which each degrades and
the tolerance (margin); ``alpha`` is the family-wise level (default 0.01). Each gated metric gets
two one-sided tests at its margin: it *fails* when its degradation is shown to exceed the margin,
*passes* only when it is shown to stay below it (non-inferiority), and is *inconclusive*
otherwise; Holm controls each family (:mod:`.verdicts`). A pass is a claim, never an absence of
evidence.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.drift.errors import GateConfigError, UnknownGateMetricError
from pytest_opsladder.drift.match_modes import MatchMode

ALIASES = {"latency": "latency_s", "pass": "pass_rate", "passed": "pass_rate"}
_TABLE_KEYS = {"alpha", "power", "seed", "min_cases", "trajectory_match", "max_missing_share"}
_METRIC_KEYS = {"worse", "margin", "match"}


class _ParsedEnum(StrEnum):
    @classmethod
    def parse(cls, value: object, *, key: str) -> Any:
        where = f"[tool.opsladder.gate] {key} = "
        return parse_choice(cls, value, setting=key, error=GateConfigError, where=where, key=key)


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
    # beyond this share of lost pairs (a case or a value missing on one side) never pass
    max_missing_share: float = 0.05

    @classmethod
    def default(cls) -> GateConfig:
        """Used when a project configures no gate: the pass rate may not drop by more than 5
        points. (With a margin of 0, pass means "significantly better": no finite suite rules
        out an arbitrarily small drop.)"""
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
        out["max_missing_share"] = self.max_missing_share
        for name, g in self.metrics.items():
            margin: Any = (
                f"{g.margin * 100:g}%" if g.margin_kind is MarginKind.RELATIVE else g.margin
            )
            entry: dict[str, Any] = {"worse": g.worse.value, "margin": margin}
            out[name] = entry | ({"match": g.match.value} if g.match else {})
        return out


def parse_gate_config(raw: Mapping[str, Any], *, source: Path | str | None = None) -> GateConfig:
    """Validate a ``[tool.opsladder.gate]`` table; every error names the key at fault, and the
    file it came from when ``source`` is given."""
    try:
        return _parse_gate_table(raw)
    except GateConfigError as exc:
        raise (exc.in_file(source) if source is not None else exc) from None


def _parse_gate_table(raw: Mapping[str, Any]) -> GateConfig:
    if not isinstance(raw, Mapping):
        raise GateConfigError(
            f"[tool.opsladder.gate] must be a table of settings and gated metrics, not "
            f"{type(raw).__name__} {raw!r}",
            key="gate",
        )
    settings = {k: raw[k] for k in raw if k in _TABLE_KEYS}
    metrics = {}
    for key, value in raw.items():
        if key in _TABLE_KEYS:
            continue
        gate = _parse_metric(str(key), value)
        metrics[gate.name] = gate
    # a table that only tunes the gate (alpha = 0.05) still gates what the default gates:
    # a gate that tests nothing would pass every candidate
    return GateConfig(metrics or GateConfig.default().metrics, **_parse_settings(settings))


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
    return parse_gate_config(table, source=path)


def _parse_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("alpha", "power"):
        if key in raw:
            out[key] = _probability(raw[key], key)
    for key in ("seed", "min_cases"):
        if key in raw:
            value = raw[key]
            least = 1 if key == "min_cases" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise GateConfigError(
                    f"[tool.opsladder.gate] {key} = {value!r} must be a "
                    f"{'positive' if least else 'non-negative'} integer "
                    f"(for example {key} = {_EXAMPLES[key]})",
                    key=key,
                )
            out[key] = value
    if "max_missing_share" in raw:
        out["max_missing_share"] = _share(raw["max_missing_share"], "max_missing_share")
    if "trajectory_match" in raw:
        out["trajectory_match"] = _match(raw["trajectory_match"], "trajectory_match")
    return out


_EXAMPLES = {"alpha": "0.01", "power": "0.8", "seed": "0", "min_cases": "5"}


def _probability(value: Any, key: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1
    if not ok:
        raise GateConfigError(
            f"[tool.opsladder.gate] {key} = {value!r} must be a number strictly between 0 and 1 "
            f"(for example {key} = {_EXAMPLES[key]})",
            key=key,
        )
    return float(value)


def _share(value: Any, key: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1
    if not ok:
        raise GateConfigError(
            f"[tool.opsladder.gate] {key} = {value!r} must be a share in [0, 1) (for example "
            f"{key} = 0.05: at most 5% of the cases may lack a run or a value on one side)",
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
    if kind is MarginKind.RELATIVE and worse is Worse.LOWER and margin >= 1:
        raise GateConfigError(
            f"[tool.opsladder.gate] {key}.margin = {value['margin']!r}: a drop of 100% or more "
            "of the baseline is never exceeded, so the gate could not fail; write a margin "
            'below 100% such as margin = "10%"',
            key=f"{key}.margin",
        )
    match = _match(value["match"], f"{key}.match") if "match" in value else None
    return MetricGate(ALIASES.get(key, key), worse, margin, kind, match)


def _margin(value: Any, key: str) -> tuple[float, MarginKind]:
    """A number is absolute (in the metric's unit); ``"10%"`` is relative to the baseline."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and math.isfinite(value) and value >= 0:
        return float(value), MarginKind.ABSOLUTE
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            pct = float(value.strip()[:-1])
        except ValueError:
            pct = -1.0
        if math.isfinite(pct) and pct >= 0:
            return pct / 100.0, MarginKind.RELATIVE
    infinite = " (an infinite margin would pass any degradation)" if "inf" in str(value) else ""
    raise GateConfigError(
        f"[tool.opsladder.gate] {key} = {value!r} must be a finite non-negative number "
        '(absolute, in the metric\'s unit) or a percentage string such as "10%" (relative to '
        f"the baseline){infinite}",
        key=key,
    )


def apply_gate(metrics: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    """Holm-adjust both test families in place, give each gated metric a verdict; return the
    overall one (see :mod:`.verdicts`)."""
    from pytest_opsladder.drift.verdicts import apply_gate as apply

    return apply(metrics, gate)


def overall_verdict(gated: list[dict[str, Any]], gate: GateConfig) -> tuple[str, str]:
    """Fail if any gated metric fails, pass only if every one passes, else inconclusive."""
    from pytest_opsladder.drift.verdicts import overall_verdict as overall

    return overall(gated, gate)
