"""Sampling production runs for review (ladder level 7): uniform, stratified, reservoir,
interesting. Every strategy is one streaming pass with O(n x strata) memory and a seed.

- ``uniform``: every indexed run equally likely (Algorithm L: only kept lines are parsed).
- ``reservoir``: the same over any JSON-lines stream (stdin, a pipe), of index lines or of
  full run records, whose length is unknown.
- ``stratified``: n per stratum, strata by ``status``, ``tool``, ``error_code``, ``variant``
  (a run with several tools belongs to each tool's stratum, and is returned once).
- ``interesting``: n per reason: ``error``, ``denial`` (guardrail / blast-radius refusals),
  ``slow`` (duration at or above ``slow_s``, or z > ``z`` against the runs before it) and
  ``outlier`` (tokens out, tool calls or cost with |z| > ``z`` against the runs before it:
  drift in a time-ordered stream). The bands come from Welford running moments after
  ``warmup`` runs, refreshed every 1,000 runs, so it is one pass.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pytest_opsladder.store.errors import StoreConfigError
from pytest_opsladder.store.index import IndexReadStats, parse_line, record_entry
from pytest_opsladder.store.reservoir import Reservoir, SkipReservoir
from pytest_opsladder.store.welford import OutlierTracker


class _Choice(StrEnum):
    @classmethod
    def parse(cls, value: str, *, what: str) -> _Choice:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise StoreConfigError(f"{value!r} is not a valid {what}; valid: {valid}.") from None


class Strategy(_Choice):
    UNIFORM = "uniform"
    STRATIFIED = "stratified"
    RESERVOIR = "reservoir"
    INTERESTING = "interesting"


class StratumField(_Choice):
    STATUS = "status"
    TOOL = "tool"
    ERROR_CODE = "error_code"
    VARIANT = "variant"


OUTLIER_METRICS = ("tokens_out", "tool_calls", "cost")


@dataclass(frozen=True)
class SampleSpec:
    """What to draw: the strategy, n (per stratum / per reason), the seed and thresholds."""

    strategy: Strategy = Strategy.UNIFORM
    n: int = 20
    seed: int = 0
    by: tuple[StratumField, ...] = (StratumField.STATUS,)
    slow_s: float | None = None
    z: float = 3.0
    warmup: int = 30


def sample_lines(
    lines: Iterable[bytes], spec: SampleSpec, stats: IndexReadStats | None = None
) -> list[dict[str, Any]]:
    """Draw from raw JSON lines (index lines or run records); each result says why it was drawn."""
    if spec.n < 1:
        raise StoreConfigError(f"sample size {spec.n!r} must be at least 1.")
    rng = random.Random(spec.seed)
    if spec.strategy in (Strategy.UNIFORM, Strategy.RESERVOIR):
        return _uniform(lines, spec, rng, stats)
    if spec.strategy is Strategy.STRATIFIED:
        return _stratified(_entries(lines, stats), spec, rng)
    return _interesting(_entries(lines, stats), spec, rng)


def _entries(lines: Iterable[bytes], stats: IndexReadStats | None) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        entry = parse_line(line, number, stats)
        if entry is not None:
            yield record_entry(entry)


def _uniform(
    lines: Iterable[bytes], spec: SampleSpec, rng: random.Random, stats: IndexReadStats | None
) -> list[dict[str, Any]]:
    pool = SkipReservoir(spec.n, rng)
    for i, line in enumerate(lines):
        if not pool.wants(i):
            continue
        entry = parse_line(line, i + 1, stats)
        if entry is None:
            pool.skip(i)
        else:
            pool.put(i, record_entry(entry))
    return [_tag(e, spec.strategy.value) for e in pool.items if isinstance(e, dict)]


def _tag(entry: dict[str, Any], strategy: str, **why: Any) -> dict[str, Any]:
    return {**entry, "sample": {"strategy": strategy, **why}}


def strata_of(entry: dict[str, Any], by: tuple[StratumField, ...]) -> list[tuple[str, ...]]:
    """The strata of a run: one value per field (one stratum per tool it called)."""
    keys: list[tuple[str, ...]] = [()]
    for field in by:
        values = _field_values(entry, field)
        keys = (
            [(*k, v) for k in keys for v in values]
            if len(values) > 1
            else [(*k, values[0]) for k in keys]
        )
    return keys


def stratum_label(key: tuple[str, ...], by: tuple[StratumField, ...]) -> str:
    """``status=error|variant=prod``: how a stratum is shown."""
    return "|".join(f"{f.value}={v}" for f, v in zip(by, key, strict=True))


def _field_values(entry: dict[str, Any], field: StratumField) -> list[str]:
    if field is StratumField.TOOL:
        return sorted({str(t) for t in entry.get("tools") or []}) or ["(none)"]
    value = entry.get(field.value)
    return [str(value) if value is not None else "(none)"]


def _stratified(
    entries: Iterable[dict[str, Any]], spec: SampleSpec, rng: random.Random
) -> list[dict[str, Any]]:
    pools: dict[tuple[str, ...], Reservoir[dict[str, Any]]] = {}
    for entry in entries:
        for key in strata_of(entry, spec.by):
            pool = pools.get(key)
            if pool is None:
                pool = pools[key] = Reservoir(spec.n, rng)
            pool.offer(entry)
    labelled = {stratum_label(k, spec.by): pool for k, pool in pools.items()}
    return _merge(labelled, "stratified", "strata")


def _merge(
    pools: dict[str, Reservoir[dict[str, Any]]], strategy: str, label: str
) -> list[dict[str, Any]]:
    """One result per run, in stratum order; a run drawn in several strata lists them all."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(pools):
        for entry in pools[key].items:
            run_id = str(entry.get("run_id"))
            drawn = out.setdefault(run_id, _tag(entry, strategy, **{label: []}))
            drawn["sample"][label].append(key)
    return list(out.values())


def _interesting(
    entries: Iterable[dict[str, Any]], spec: SampleSpec, rng: random.Random
) -> list[dict[str, Any]]:
    pools: dict[str, Reservoir[dict[str, Any]]] = {}
    tracker = OutlierTracker(("duration_s", *OUTLIER_METRICS), spec.z, spec.warmup)
    for entry in entries:
        for reason in reasons_of(entry, tracker, spec):
            pool = pools.get(reason)
            if pool is None:
                pool = pools[reason] = Reservoir(spec.n, rng)
            pool.offer(entry)
        _update(tracker, entry)
    return _merge(pools, "interesting", "reasons")


def reasons_of(entry: dict[str, Any], tracker: OutlierTracker, spec: SampleSpec) -> list[str]:
    """Why a run is worth a reviewer's time (empty: it is not)."""
    reasons = []
    if entry.get("status") == "error" or entry.get("error_code"):
        reasons.append("error")
    if entry.get("denials"):
        reasons.append("denial")
    if _is_slow(entry.get("duration_s"), tracker, spec):
        reasons.append("slow")
    metrics = entry.get("metrics") or {}
    if any(tracker.outside(m, metrics.get(m)) for m in OUTLIER_METRICS):
        reasons.append("outlier")
    return reasons


def _is_slow(duration: Any, tracker: OutlierTracker, spec: SampleSpec) -> bool:
    if spec.slow_s is None:
        return tracker.outside("duration_s", duration, upper_only=True)
    return isinstance(duration, int | float) and duration >= spec.slow_s


def _update(tracker: OutlierTracker, entry: dict[str, Any]) -> None:
    tracker.add("duration_s", entry.get("duration_s"))
    metrics = entry.get("metrics") or {}
    for name in OUTLIER_METRICS:
        tracker.add(name, metrics.get(name))


def dumps_sample(entries: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
