"""The store's index: one JSON line per finished run, what sampling reads (ladder level 7).

A line holds what sampling and review need without opening the run file::

    {"v": 1, "run_id": "...", "started_at": "2026-11-24T09:00:00.000Z",
     "case_id": "...", "variant": "prod", "status": "complete", "error_code": null,
     "tools": ["search_orders", "refund"], "denials": 0, "duration_s": 1.2,
     "metrics": {"latency_s": 1.2, "tokens_in": 310, "tokens_out": 42, "tool_calls": 2},
     "input_hash": "<sha256/16 of the canonical input>"}

The run file is ``<started_at date>/<run_id>.json`` (:func:`entry_path`). Lines are compact
(no spaces) because sampling parses every one of them. Readers stream the file line by line
and skip a line that does not parse (a writer that died mid-line), counting it in
:class:`IndexReadStats` so the CLI can say where. ``v`` is the line's format version: a line of
a version this release does not read is refused (:class:`IndexVersionError`), never read as if
it were the current format; a line without ``v`` is read as version 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder._json import loads
from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.capture.variant import content_hash
from pytest_opsladder.store.errors import IndexVersionError
from pytest_opsladder.store.layout import index_path, run_relpath
from pytest_opsladder.store.locking import append_jsonl

INDEX_VERSION = 1
READABLE_VERSIONS = (1,)  # the index versions this release reads
METRIC_KEYS = ("latency_s", "tokens_in", "tokens_out", "tool_calls", "errors", "cost")
_DENIAL_SUFFIXES = ("_blocked", "_denied", "_rejected", "_deny")


@dataclass
class IndexReadStats:
    """What a streaming read saw: lines read, and the numbers of lines it had to skip."""

    lines: int = 0
    skipped: list[int] = field(default_factory=list)

    def warning(self, path: Path) -> str | None:
        if not self.skipped:
            return None
        where = ", ".join(str(n) for n in self.skipped[:5])
        return (
            f"skipped {len(self.skipped)} unreadable line(s) of {path} (line {where}): a writer "
            "stopped mid-line. The runs are still in their date folders; "
            "`opsladder sample --reindex` rebuilds the index from them."
        )


def input_hash(value: Any) -> str:
    """The fingerprint of a case input in canonical form (sorted keys): for dedupe."""
    return content_hash(canonical_json(value))


def entry_for(run: dict[str, Any]) -> dict[str, Any]:
    """The index line of a run record (``Run.to_dict()`` form)."""
    manifest = run.get("manifest") or {}
    started = str(manifest.get("started_at") or "")
    events = run.get("events") or []
    metrics = run.get("metrics") or {}
    return {
        "v": INDEX_VERSION,
        "run_id": manifest.get("run_id"),
        "started_at": started,
        "case_id": (run.get("case") or {}).get("id"),
        "variant": (run.get("variant") or {}).get("name"),
        "status": run.get("status"),
        "error_code": error_code(run.get("error")),
        "tools": [e.get("name") for e in events if e.get("kind") == "tool_call"],
        "denials": sum(1 for e in events if is_denial(e)),
        "duration_s": manifest.get("duration_s"),
        "metrics": {k: metrics[k] for k in METRIC_KEYS if k in metrics},
        "input_hash": input_hash((run.get("case") or {}).get("input")),
    }


def error_code(error: dict[str, Any] | None) -> str | None:
    """A run's error code: the error's ``code`` if it has one, else its exception type."""
    if not error:
        return None
    return str(error.get("code") or error.get("type") or "error")


def is_denial(event: dict[str, Any]) -> bool:
    """A guardrail/blast-radius refusal: a ``*_blocked``/``*_denied`` kind or a deny verdict."""
    kind = str(event.get("kind", ""))
    data = event.get("data") or {}
    verdict = data.get("verdict") or data.get("decision") if isinstance(data, dict) else None
    return kind.endswith(_DENIAL_SUFFIXES) or verdict == "deny"


def entry_path(entry: dict[str, Any]) -> str:
    """The store-relative path of an entry's run file."""
    return run_relpath(str(entry.get("started_at") or ""), str(entry.get("run_id")))


def dumps_entry(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"


def append_entries(store: Path, entries: list[dict[str, Any]]) -> None:
    append_jsonl(index_path(store), entries)


def iter_index_lines(path: Path, stats: IndexReadStats | None = None) -> Iterator[bytes]:
    """The raw lines of the index (bytes, each with its newline), streaming; empty if no index.
    A line of an index version this release does not read raises :class:`IndexVersionError`."""
    if not path.exists():
        return
    with path.open("rb", buffering=1 << 20) as handle:
        yield from checked_lines(handle, path, stats)


# What every line this release writes starts with (json.dumps keeps the key order of entry_for).
_CURRENT = b'{"v":%d,' % INDEX_VERSION


def checked_lines(
    lines: Iterable[bytes], source: Path, stats: IndexReadStats | None = None
) -> Iterator[bytes]:
    """``lines``, counted into ``stats``, refusing the first one written in an index version
    this release does not read. Lines written by this release start with ``{"v":1,``: one
    prefix test per line (the sampling hot path), and a line without a ``"v"`` key at all
    (hand-written, or a whole run record) is read as version 1. Any other line is parsed to
    look at its ``v``; one that does not parse is left to the reader, which skips it."""
    number = 0
    try:
        for number, line in enumerate(lines, start=1):
            if not line.startswith(_CURRENT) and b'"v"' in line:
                _check_version(line, number, source)
            yield line
    finally:
        if stats is not None:
            stats.lines += number


def _check_version(line: bytes, number: int, source: Path) -> None:
    try:
        entry = loads_line(line)
    except ValueError:
        return
    if not isinstance(entry, dict) or "v" not in entry:
        return
    version = entry["v"]
    if type(version) is not int or version not in READABLE_VERSIONS:  # True is not 1
        raise IndexVersionError(source, number, version, READABLE_VERSIONS)


def parse_line(line: bytes, number: int, stats: IndexReadStats | None) -> dict[str, Any] | None:
    """One index entry, or None (counted as skipped) when the line is not a JSON object."""
    try:
        entry = loads_line(line)
    except ValueError:
        entry = None
    if isinstance(entry, dict):
        return entry
    if stats is not None and line.strip():
        stats.skipped.append(number)
    return None


# One index line's JSON. Sampling parses every line (orjson's speed matters, and no extra call
# per line); a missing or unbounded metric is written as NaN or Infinity, which only json reads.
loads_line = loads


def iter_index(path: Path, stats: IndexReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Every readable entry of the index at ``path``, streaming (bounded memory)."""
    for number, line in enumerate(iter_index_lines(path, stats), start=1):
        entry = parse_line(line, number, stats)
        if entry is not None:
            yield entry


def record_entry(record: dict[str, Any]) -> dict[str, Any]:
    """An index entry from an index line, a run record, or a cassette envelope."""
    if "run" in record and isinstance(record["run"], dict):
        return entry_for(record["run"])
    if "manifest" in record and "case" in record:
        return entry_for(record)
    return record
