"""Shard files: each xdist worker or CI job writes its runs; one merge rescores them (level 7).

A shard is JSON lines: a header (settings every shard of one comparison must share, plus case
metadata and call counts) and one metrics-table row per run. Rows are rescored together, never
averaged per shard: a verdict computed per shard and combined would not be paired by case.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder import _json
from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.drift.errors import ShardError
from pytest_opsladder.drift.gate import GateConfig, parse_gate_config
from pytest_opsladder.drift.shard_schema import check_header, check_row
from pytest_opsladder.secrets import redact_secrets

if TYPE_CHECKING:
    import pandas as pd

SHARD_FORMAT = "pytest-opsladder/shard"
SHARD_VERSION = 1
# Settings that must agree across the shards of one comparison.
_SHARED = ("baseline", "candidate", "gate", "prices")


@dataclass
class Shard:
    """One shard: its settings header and its metrics-table rows."""

    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    case_meta: dict[str, Any] = field(default_factory=dict)
    first_divergences: dict[str, Any] = field(default_factory=dict)
    live_calls: dict[str, int] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, Any] = field(default_factory=dict)
    # cases without a pair: missing_baseline / missing_candidate (case id -> reason) and
    # missing_epochs (case id -> baseline epochs it lacks), counted again by the merge
    lost: dict[str, Any] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def write_shard(
    path: Path | str,
    table: pd.DataFrame,
    *,
    baseline: str,
    candidate: str,
    gate: GateConfig,
    epochs: Mapping[str, int] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``table``'s rows as one shard, atomically. ``extra`` may carry case_meta,
    first_divergences, live_calls, provenance and fingerprints for the header."""
    header = {
        "format": SHARD_FORMAT,
        "schema_version": SHARD_VERSION,
        "settings": {
            "baseline": baseline,
            "candidate": candidate,
            "gate": gate.to_dict(),
            "alpha": gate.alpha,
            "epochs": dict(epochs or {}),
        },
        **{k: v for k, v in (extra or {}).items()},
    }
    target = Path(path)
    header = redact_secrets(header)  # shards are CI artifacts: no credential reaches them
    with open_atomic(target) as fh:
        fh.write(json.dumps(header, default=str) + "\n")
        for row in table.to_dict("records"):
            clean = redact_secrets({k: _jsonable(v) for k, v in row.items()})
            fh.write(json.dumps(clean, default=str) + "\n")
    return target


def read_shard(path: Path | str) -> Shard:
    """Read one shard; a bad header or line names the file and the line."""
    source = Path(path)
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ShardError(f"cannot read shard {str(source)!r}: {exc}", path=source) from exc
    except UnicodeDecodeError as exc:
        raise ShardError(
            f"{source} is not UTF-8 text (byte {exc.start}); a shard is JSON lines written by "
            "write_shard, so this file is corrupt or not a shard",
            path=source,
        ) from None
    header = _line(source, lines, 0)
    if header.get("format") != SHARD_FORMAT or header.get("schema_version") != SHARD_VERSION:
        raise ShardError(
            f"{source}:1 is not a pytest-opsladder shard of version {SHARD_VERSION} (format "
            f"{header.get('format')!r}, schema_version {header.get('schema_version')!r}); "
            "write shards with this release's write_shard",
            path=source,
        )
    check_header(header, source)
    rows = [_row(source, lines, i) for i in range(1, len(lines)) if lines[i].strip()]
    return Shard(
        settings=dict(header.get("settings") or {}),
        rows=rows,
        case_meta=dict(header.get("case_meta") or {}),
        first_divergences=dict(header.get("first_divergences") or {}),
        live_calls=dict(header.get("live_calls") or {}),
        provenance=dict(header.get("provenance") or {}),
        fingerprints=dict(header.get("fingerprints") or {}),
        lost=dict(header.get("lost") or {}),
    )


def _row(source: Path, lines: list[str], i: int) -> dict[str, Any]:
    row = _line(source, lines, i)
    check_row(row, source, i + 1)
    return row


def _line(source: Path, lines: list[str], i: int) -> dict[str, Any]:
    if i >= len(lines):
        raise ShardError(f"{source} is empty: a shard starts with its header line", path=source)
    try:
        value = _json.parse(lines[i])
    except json.JSONDecodeError as exc:
        raise ShardError(
            f"{source}:{i + 1} is not JSON ({exc}); the shard is truncated or corrupt", path=source
        ) from exc
    if not isinstance(value, dict):
        raise ShardError(f"{source}:{i + 1} must be a JSON object", path=source)
    return value


@dataclass
class Merged:
    """Shards combined: the one table to rescore and the header facts summed or united."""

    table: pd.DataFrame
    settings: dict[str, Any]
    gate: GateConfig
    case_meta: dict[str, Any]
    first_divergences: dict[str, Any]
    live_calls: dict[str, int]
    provenance: dict[str, Any]
    fingerprints: dict[str, Any]
    lost: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_shards(paths: Iterable[Path | str]) -> Merged:
    """Concatenate shards that agree on their settings; a run seen twice is kept once."""
    import pandas as pd

    from pytest_opsladder.drift.table import coerce_types, table_columns

    shards = [(Path(p), read_shard(p)) for p in paths]
    if not shards:
        raise ShardError("no shard files given: pass the reports/shards/*.jsonl files to merge")
    first_path, first = shards[0]
    for path, shard in shards[1:]:
        _check_same(first_path, first, path, shard)
    rows = [row for _, shard in shards for row in shard.rows]
    # the fixed columns even without a row: a job whose every case lacked a baseline writes a
    # shard of its header alone, and merging it is an inconclusive verdict, not a KeyError
    table = pd.DataFrame(rows, columns=table_columns(rows))
    table = table.drop_duplicates(subset=["role", "case_id", "epoch", "run_id"])
    live: dict[str, int] = {}
    for _, shard in shards:
        for key, value in shard.live_calls.items():
            live[key] = live.get(key, 0) + int(value)
    return Merged(
        table=coerce_types(table.reset_index(drop=True)),
        settings=first.settings,
        gate=parse_gate_config(first.settings.get("gate") or {}, source=first_path),
        case_meta={k: v for _, s in shards for k, v in s.case_meta.items()},
        first_divergences={k: v for _, s in shards for k, v in s.first_divergences.items()},
        live_calls=live,
        provenance=first.provenance,
        fingerprints=first.fingerprints,
        lost=_merge_lost([s for _, s in shards]),
    )


def _merge_lost(shards: list[Shard]) -> dict[str, dict[str, Any]]:
    """Every shard's lost cases, by kind (a case paired in another shard is not lost: the
    scorer drops the ones the merged table pairs)."""
    out: dict[str, dict[str, Any]] = {}
    for kind in ("missing_baseline", "missing_candidate", "missing_epochs"):
        out[kind] = {k: v for s in shards for k, v in (s.lost.get(kind) or {}).items()}
    return out


def _check_same(path_a: Path, a: Shard, path_b: Path, b: Shard) -> None:
    for key in _SHARED:
        if a.settings.get(key) != b.settings.get(key):
            raise ShardError(
                f"shards disagree on {key!r}: {path_a} has {a.settings.get(key)!r}, {path_b} "
                f"has {b.settings.get(key)!r}. Merge only shards of one comparison.",
                path=path_b,
            )
