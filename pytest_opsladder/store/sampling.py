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
  drift in a time-ordered stream). The bands come from running moments (Welford/Chan), set
  after the first ``warmup`` runs and refreshed every 1,000 runs; between refreshes they are
  fixed, so each block of runs is judged at once (numpy), still in one streaming pass.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pytest_opsladder.choices import parse_choice
from pytest_opsladder.store.errors import StoreConfigError
from pytest_opsladder.store.index import IndexReadStats, loads_line, parse_line, record_entry
from pytest_opsladder.store.reservoir import Reservoir, SkipReservoir
from pytest_opsladder.store.welford import OutlierTracker


class _Choice(StrEnum):
    @classmethod
    def parse(cls, value: str, *, what: str) -> _Choice:
        return parse_choice(cls, value, setting=what, error=StoreConfigError)


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
    """Every readable entry, as an index entry (parse_line and record_entry, inlined: this
    loop runs once per stored run)."""
    for number, line in enumerate(lines, start=1):
        try:
            entry = loads_line(line)
        except ValueError:
            entry = None
        if entry.__class__ is not dict:
            if stats is not None and line.strip():
                stats.skipped.append(number)
        elif "run" in entry or "manifest" in entry:
            yield record_entry(entry)
        else:
            yield entry


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
    if StratumField.TOOL not in by:  # the common case, one stratum: no list per field
        return [tuple([_label(entry.get(field.value)) for field in by])]
    keys: list[tuple[str, ...]] = [()]
    for field in by:
        values = _field_values(entry, field)
        keys = (
            [(*k, v) for k in keys for v in values]
            if len(values) > 1
            else [(*k, values[0]) for k in keys]
        )
    return keys


def _strata_keys(by: tuple[StratumField, ...]) -> Callable[[dict[str, Any]], list[tuple[str, ...]]]:
    """:func:`strata_of` for one ``by``, made once for a stream: an entry's strata come from
    its raw field values, worked out once for each distinct tuple of them (a store holds few:
    statuses, variants, cases, sets of tools)."""
    names = tuple("tools" if field is StratumField.TOOL else field.value for field in by)
    tools = StratumField.TOOL in by
    # by raw values and their types: 1, 1.0 and True are one dict key but three labels
    known: dict[tuple[Any, ...], tuple[tuple[type, ...], list[tuple[str, ...]]]] = {}

    def keys_of(entry: dict[str, Any]) -> list[tuple[str, ...]]:
        raw = tuple(map(entry.get, names))
        if tools:  # the tool list as a tuple, a key (parsed JSON holds no tuples)
            raw = tuple([_names_key(v) if v.__class__ is list else v for v in raw])
        types = tuple(map(type, raw))
        try:
            seen = known.get(raw)
        except TypeError:  # a list or an object inside: not a key
            return strata_of(entry, by)
        if seen is not None and seen[0] == types:
            return seen[1]
        keys = strata_of(entry, by)
        if len(known) < _KEYS_KEPT:
            known[raw] = (types, keys)
        return keys

    return keys_of


_KEYS_KEPT = 100_000  # distinct field tuples remembered (memory stays bounded)


def _names_key(tools: list[Any]) -> Any:
    """A tool list as a memo key: a tuple when it holds names only (what stores hold); else a
    list, which is no key, so its strata are worked out each time (the types inside a tuple
    are not in the key's types: [1] and [True] would share one). Names only is checked by
    joining them, which refuses anything else (a fifth of the cost of a loop over them)."""
    try:
        "".join(tools)
    except TypeError:
        return tools
    return tuple(tools)


def stratum_label(key: tuple[str, ...], by: tuple[StratumField, ...]) -> str:
    """``status=error|variant=prod``: how a stratum is shown."""
    return "|".join(f"{f.value}={v}" for f, v in zip(by, key, strict=True))


def _field_values(entry: dict[str, Any], field: StratumField) -> list[str]:
    if field is StratumField.TOOL:
        return sorted({str(t) for t in entry.get("tools") or []}) or ["(none)"]
    return [_label(entry.get(field.value))]


def _label(value: Any) -> str:
    return value if value.__class__ is str else "(none)" if value is None else str(value)


def _stratified(
    entries: Iterable[dict[str, Any]], spec: SampleSpec, rng: random.Random
) -> list[dict[str, Any]]:
    pools: dict[tuple[str, ...], Reservoir[dict[str, Any]]] = {}
    keys_of = _strata_keys(spec.by)
    for entry in entries:
        for key in keys_of(entry):
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
    tracker = OutlierTracker(_TRACKED, spec.z, spec.warmup)
    block, judged = _Block(), 0
    size = block_end(judged, spec.warmup)
    for entry in entries:
        block.add(entry)
        if len(block.entries) == size:
            _flush(block, tracker, spec, pools, rng)
            judged += size
            block, size = _Block(), block_end(judged, spec.warmup) - judged
    _flush(block, tracker, spec, pools, rng)
    return _merge(pools, "interesting", "reasons")


_TRACKED = ("duration_s", *OUTLIER_METRICS)
_REASONS = ("error", "denial", "slow", "outlier")
_REFRESH = 1000


def block_end(start: int, warmup: int) -> int:
    """Bands are refreshed after the first ``warmup`` runs and then every 1,000 runs: the row
    count at which the block that begins after ``start`` rows ends. Within a block the bands are
    fixed, so a block is judged at once."""
    if start < warmup:
        return warmup
    return (start // _REFRESH + 1) * _REFRESH


class _Block:
    """The runs since the last band refresh."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.add = self.entries.append  # a bound method: this runs once per stored run

    def columns(self) -> list[list[float]]:
        """The tracked numbers of the block's runs, one list per name (NaN: not a number)."""
        # metrics that are not a mapping (a hand-edited line) are none: NaN for every number
        metrics = [m if (m := e.get("metrics")).__class__ is dict else _NONE for e in self.entries]
        raw = [[e.get("duration_s") for e in self.entries]]
        raw += [[m.get(name) for m in metrics] for name in OUTLIER_METRICS]
        return [
            [v if v.__class__ is float or v.__class__ is int else math.nan for v in column]
            for column in raw  # bools and strings are not numbers
        ]


_NONE: dict[str, Any] = {}


def _flush(
    block: _Block,
    tracker: OutlierTracker,
    spec: SampleSpec,
    pools: dict[str, Reservoir[dict[str, Any]]],
    rng: random.Random,
) -> None:
    if not block.entries:
        return
    columns = block.columns()
    slow, outlier = _block_flags(columns, tracker, spec)
    errors = [e.get("status") == "error" or bool(e.get("error_code")) for e in block.entries]
    denials = [bool(e.get("denials")) for e in block.entries]
    flags = zip(errors, denials, slow, outlier, strict=True)
    for i, flagged in enumerate(flags):
        if not any(flagged):
            continue
        for reason in [r for r, on in zip(_REASONS, flagged, strict=True) if on]:
            entry = block.entries[i]
            pool = pools.get(reason)
            if pool is None:
                pool = pools[reason] = Reservoir(spec.n, rng)
            pool.offer(entry)
    for name, column in zip(_TRACKED, columns, strict=True):
        tracker.merge(name, column)
        tracker.refresh_band(name)


def _block_flags(
    columns: list[list[float]], tracker: OutlierTracker, spec: SampleSpec
) -> tuple[list[bool], list[bool]]:
    """Per run of a block: slow? outlier? (against the bands of the runs before the block)."""
    import numpy as np

    with np.errstate(invalid="ignore"):  # NaN compares False: a missing number flags nothing
        duration = np.asarray(columns[0], dtype=float)
        if spec.slow_s is None:
            slow = duration > tracker.bands["duration_s"][1]
        else:
            slow = duration >= spec.slow_s
        outlier = np.zeros(len(duration), dtype=bool)
        for name, column in zip(_TRACKED[1:], columns[1:], strict=True):
            low, high = tracker.bands[name]
            values = np.asarray(column, dtype=float)
            outlier |= (values > high) | (values < low)
    return slow.tolist(), outlier.tolist()


def _plain_reasons(entry: dict[str, Any]) -> list[str]:
    if entry.get("status") == "error" or entry.get("error_code"):
        return ["error", "denial"] if entry.get("denials") else ["error"]
    return ["denial"] if entry.get("denials") else []


def reasons_of(entry: dict[str, Any], tracker: OutlierTracker, spec: SampleSpec) -> list[str]:
    """Why a run is worth a reviewer's time (empty: it is not), against the current bands."""
    reasons = _plain_reasons(entry)
    if _is_slow(entry.get("duration_s"), tracker, spec):
        reasons.append("slow")
    metrics = m if (m := entry.get("metrics")).__class__ is dict else _NONE
    if any(tracker.outside(m, metrics.get(m)) for m in OUTLIER_METRICS):
        reasons.append("outlier")
    return reasons


def _is_slow(duration: Any, tracker: OutlierTracker, spec: SampleSpec) -> bool:
    if spec.slow_s is None:
        return tracker.outside("duration_s", duration, upper_only=True)
    return isinstance(duration, int | float) and duration >= spec.slow_s


def dumps_sample(entries: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
