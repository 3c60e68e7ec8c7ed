"""The shape of a shard, checked on read so ``opsladder merge`` refuses a bad one (level 7).

A shard is a CI artifact: it can be cut, edited by hand or written by another release. JSON
that parses but has the wrong shape (a row without a case id, ``"passed": "yes"``, settings that
are a list) once reached pandas and ended in a traceback, or in a results file that
``opsladder report`` refused. Each check here names the file, the line, the key and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_opsladder.drift.errors import ShardError
from pytest_opsladder.drift.table import NUMERIC_METRICS

_ROLES = ("baseline", "candidate")
_FIX = "regenerate the shard (pytest --opsladder-shadow --opsladder-shard NAME)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _fail(source: Path, line: int, key: str, value: Any, expected: str) -> ShardError:
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return ShardError(
        f"{source}:{line}: key {key!r} is {shown}; it must be {expected}. The shard was cut, "
        f"edited or written by another release: {_FIX}",
        path=source,
    )


def _optional(
    entry: dict[str, Any], key: str, ok: Callable[[Any], bool], expected: str, where: Any
) -> None:
    value = entry.get(key)
    if value is not None and not ok(value):
        source, line, prefix = where
        raise _fail(source, line, prefix + key, value, expected + " or absent")


def check_row(row: dict[str, Any], source: Path, line: int) -> None:
    """One metrics-table row: who it is (case, role, epoch) and the values the gate tests."""
    case_id = row.get("case_id")
    if not isinstance(case_id, str) or not case_id:
        raise _fail(source, line, "case_id", case_id, "a non-empty string")
    if row.get("role") not in _ROLES:
        raise _fail(source, line, "role", row.get("role"), '"baseline" or "candidate"')
    where = (source, line, "")
    _optional(row, "epoch", lambda v: _is_int(v) and v >= 0, "an integer >= 0", where)
    _optional(row, "passed", lambda v: isinstance(v, bool), "true or false", where)
    for key in ("run_id", "status", "variant", "model"):
        _optional(row, key, lambda v: isinstance(v, str), "a string", where)
    for key in NUMERIC_METRICS:
        _optional(row, key, _is_number, "a number (null when not observed)", where)


def check_header(header: dict[str, Any], source: Path) -> None:
    """The header's settings and the facts the merge sums or unites (line 1)."""
    where = (source, 1, "")
    for key in ("settings", "case_meta", "first_divergences", "live_calls", "provenance"):
        _optional(header, key, _is_object, "an object", where)
    for key in ("fingerprints", "lost"):
        _optional(header, key, _is_object, "an object", where)
    _optional(header.get("settings") or {}, "gate", _is_object, "a table", (source, 1, "settings."))
    _check_values(header, "case_meta", _is_object, "an object", source)
    _check_values(header, "fingerprints", _is_object, "an object", source)
    _check_values(header, "first_divergences", _is_object, "an object or null", source)
    counts = (lambda v: _is_int(v) and v >= 0), "an integer >= 0"
    _check_values(header, "live_calls", *counts, source)
    for case_id, meta in (header.get("case_meta") or {}).items():
        at = (source, 1, f"case_meta.{case_id}.")
        _optional(meta, "tags", _is_str_list, "a list of strings", at)
        _optional(meta, "severity", lambda v: isinstance(v, str), "a string", at)
    _check_lost(header.get("lost") or {}, source)


def _check_values(
    header: dict[str, Any], key: str, ok: Callable[[Any], bool], expected: str, source: Path
) -> None:
    for name, value in (header.get(key) or {}).items():
        if value is not None and not ok(value):
            raise _fail(source, 1, f"{key}.{name}", value, expected)


def _check_lost(lost: dict[str, Any], source: Path) -> None:
    for kind in ("missing_baseline", "missing_candidate", "missing_epochs"):
        _optional(lost, kind, _is_object, "an object (case id -> why)", (source, 1, "lost."))
    for case_id, epochs in (lost.get("missing_epochs") or {}).items():
        if not (isinstance(epochs, list) and all(_is_int(e) for e in epochs)):
            raise _fail(source, 1, f"lost.missing_epochs.{case_id}", epochs, "a list of epochs")
