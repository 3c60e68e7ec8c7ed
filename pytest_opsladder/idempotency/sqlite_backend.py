"""The SQLite idempotency backend (level 2): one real file shared by threads and processes.

WAL journal (readers never block the writer), a busy timeout (writers queue instead of failing)
and ``BEGIN IMMEDIATE`` around every check-and-claim, so the check and the claim are one atomic
step across processes. Each thread gets its own connection (sqlite3 connections are not
thread-safe) and a forked child opens fresh ones.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pytest_opsladder.idempotency.errors import IdempotencyConfigError
from pytest_opsladder.idempotency.records import Begin, Record, Status

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status TEXT NOT NULL, holder TEXT NOT NULL,
  locked_until REAL NOT NULL, result TEXT, error TEXT, created_at REAL NOT NULL,
  updated_at REAL NOT NULL, takeovers INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID
"""
_COLUMNS = "key, fingerprint, status, holder, locked_until, result, error, created_at, "
_COLUMNS += "updated_at, takeovers"


class SqliteBackend:
    """Records in a table of one SQLite file; ``busy_timeout_s`` bounds the wait for the lock."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn().execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise IdempotencyConfigError(
                f"cannot open the idempotency store {str(self.path)!r}: {exc}. Point the store "
                "at a writable file (it is created if missing)."
            ) from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _row(self, conn: sqlite3.Connection, key: str) -> Record | None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM idempotency WHERE key = ?", (key,)).fetchone()
        return _record(row) if row else None

    def begin(self, key: str, fp: str, holder: str, now: float, expiry: float) -> Begin | None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcome = self._begin_locked(conn, key, fp, holder, now, expiry)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return outcome

    def _begin_locked(
        self, conn: sqlite3.Connection, key: str, fp: str, holder: str, now: float, expiry: float
    ) -> Begin:
        found = self._row(conn, key)
        if found is None:
            conn.execute(
                f"INSERT INTO idempotency ({_COLUMNS}) VALUES (?,?,?,?,?,NULL,NULL,?,?,0)",
                (key, fp, Status.IN_PROGRESS.value, holder, now + expiry, now, now),
            )
        elif found.status is Status.IN_PROGRESS and found.locked_until <= now:
            conn.execute(
                "UPDATE idempotency SET fingerprint=?, holder=?, locked_until=?, updated_at=?, "
                "takeovers=takeovers+1 WHERE key=?",
                (fp, holder, now + expiry, now, key),
            )
        else:
            return Begin(False, found)
        mine = self._row(conn, key)
        assert mine is not None  # written in this transaction
        return Begin(True, mine, took_over=found is not None)

    def _finish(
        self, key: str, holder: str, status: Status, column: str, text: str, now: float
    ) -> bool:
        cur = self._conn().execute(
            f"UPDATE idempotency SET status=?, {column}=?, updated_at=?, locked_until=? "
            "WHERE key=? AND holder=? AND status=?",
            (status.value, text, now, now, key, holder, Status.IN_PROGRESS.value),
        )
        return cur.rowcount == 1

    def complete(self, key: str, holder: str, result: str, now: float) -> bool:
        return self._finish(key, holder, Status.COMPLETED, "result", result, now)

    def fail(self, key: str, holder: str, error: str, now: float) -> bool:
        return self._finish(key, holder, Status.FAILED, "error", error, now)

    def release(self, key: str, holder: str) -> bool:
        cur = self._conn().execute(
            "DELETE FROM idempotency WHERE key=? AND holder=? AND status=?",
            (key, holder, Status.IN_PROGRESS.value),
        )
        return cur.rowcount == 1

    def get(self, key: str) -> Record | None:
        return self._row(self._conn(), key)

    def delete(self, key: str) -> bool:
        return self._conn().execute("DELETE FROM idempotency WHERE key=?", (key,)).rowcount == 1

    def records(self, prefix: str = "") -> list[Record]:
        rows = self._conn().execute(
            f"SELECT {_COLUMNS} FROM idempotency WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        )
        return [_record(r) for r in rows]

    def clear(self, prefix: str = "") -> int:
        cur = self._conn().execute(
            "DELETE FROM idempotency WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return cur.rowcount

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"


def _record(row: tuple[Any, ...]) -> Record:
    return Record(
        key=row[0],
        fingerprint=row[1],
        status=Status(row[2]),
        holder=row[3],
        locked_until=float(row[4]),
        result=row[5],
        error=row[6],
        created_at=float(row[7]),
        updated_at=float(row[8]),
        takeovers=int(row[9]),
    )
