"""The monitors' state file on disk (ladder level 1): what a missing or odd file means.

Every failure reads as "cannot check" (MonitorStateError, exit 2 from ``monitors check``),
never as "all monitors up": a dead man's switch that loses its state must fail loud.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.schedule.errors import MonitorStateError, ScheduleConfigError
from pytest_opsladder.schedule.monitors import Monitor

SCHEMA = """
CREATE TABLE IF NOT EXISTS monitors (
  name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at REAL NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0, resumed_at REAL, alert_state TEXT NOT NULL DEFAULT 'ok',
  alert_kind TEXT, bad_streak INTEGER NOT NULL DEFAULT 0, good_streak INTEGER NOT NULL DEFAULT 0,
  last_outcome INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS receipts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, monitor TEXT NOT NULL, kind TEXT NOT NULL, run_id TEXT,
  received_at REAL NOT NULL, sent_at REAL, message TEXT, paused INTEGER NOT NULL DEFAULT 0,
  open INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS receipts_by_monitor ON receipts (monitor, id);
CREATE TABLE IF NOT EXISTS outcomes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, monitor TEXT NOT NULL, kind TEXT NOT NULL,
  ref TEXT NOT NULL, at REAL NOT NULL, UNIQUE (monitor, kind, ref));
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, monitor TEXT NOT NULL, state TEXT NOT NULL,
  kind TEXT NOT NULL, at REAL NOT NULL, message TEXT NOT NULL,
  deliveries TEXT NOT NULL DEFAULT '{}');
"""


@dataclass(frozen=True)
class MonitorState:
    """A monitor with its live state (pause, alert, streaks)."""

    monitor: Monitor
    created_at: float
    paused: bool
    resumed_at: float | None
    alert_state: str
    alert_kind: str | None
    bad_streak: int
    good_streak: int
    last_outcome: int


def check_state_file(path: Path, create: bool) -> None:
    """Refuse a state path that is not a regular file (a FIFO would hang SQLite's open), and,
    unless creating, one that is missing or empty."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if create:
            return
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} does not exist: no monitor was added here, "
            "or the file was deleted. Nothing can be checked without it; restore it from a "
            "backup, or add the monitors again (`opsladder monitors add`).",
            path=path,
        ) from None
    except OSError as exc:
        raise state_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} is not a regular file (a directory, FIFO "
            "or device); pass the SQLite file with --db.",
            path=path,
        )
    if info.st_size == 0 and not create:
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} is empty (truncated?): its monitors are "
            "gone. Restore it from a backup, or add the monitors again.",
            path=path,
        )


def state_error(path: Path, exc: BaseException) -> MonitorStateError:
    return MonitorStateError(
        f"the monitors state file {str(path)!r} cannot be used: {exc}. Nothing was checked or "
        "changed. A corrupt file ('file is not a database') must be restored from a backup; "
        "'disk is full', 'readonly' or 'locked' clear once space, permissions or the other "
        "writer are fixed.",
        path=path,
    )


def require_schema(conn: sqlite3.Connection, path: Path) -> None:
    """An existing state file must already be one: a foreign SQLite file is not re-purposed
    (creating empty tables in it would make every check report "no monitors")."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = {"monitors", "receipts", "outcomes", "alerts"} - tables
    if missing:
        raise MonitorStateError(
            f"{str(path)!r} is a SQLite file but not a monitors state file (no "
            f"{', '.join(sorted(missing))} table); pass the right --db, or restore it.",
            path=path,
        )


def row_state(row: tuple[Any, ...], path: Path) -> MonitorState:
    try:
        monitor = Monitor.from_dict(_json.parse(row[1]))
    except (ValueError, TypeError, KeyError, ScheduleConfigError) as exc:
        raise MonitorStateError(
            f"monitor {row[0]!r} in the state file has an unreadable definition ({exc}); "
            f"re-create it with `opsladder monitors add {row[0]} ...`.",
            path=path,
        ) from exc
    return MonitorState(
        monitor=monitor,
        created_at=float(row[2]),
        paused=bool(row[3]),
        resumed_at=row[4],
        alert_state=row[5],
        alert_kind=row[6],
        bad_streak=int(row[7]),
        good_streak=int(row[8]),
        last_outcome=int(row[9]),
    )
