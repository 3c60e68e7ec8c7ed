"""The SQLite idempotency backend (level 2): one real file shared by threads and processes.

WAL journal (readers never block the writer), a busy timeout (writers queue instead of failing)
and ``BEGIN IMMEDIATE`` around every check-and-claim, so the check and the claim are one atomic
step across processes. Each thread gets its own connection (sqlite3 connections are not
thread-safe) and a forked child opens fresh ones.

Faults (docs/faults.md): a path that is not a regular file (a directory, FIFO, socket, device)
is refused before SQLite opens it, so nothing blocks; a corrupt or unreadable file is refused at
open; a file deleted or replaced while the store is open is noticed at the next claim (its
inode changed) and refused, since a fresh file would forget every completed key.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

from pytest_opsladder._sqlite import use_wal
from pytest_opsladder.idempotency.errors import IdempotencyStoreError, IdempotencyStoreOpenError
from pytest_opsladder.idempotency.records import Begin, Record, Status

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status TEXT NOT NULL, holder TEXT NOT NULL,
  locked_until REAL NOT NULL, result TEXT, error TEXT, created_at REAL NOT NULL,
  updated_at REAL NOT NULL, takeovers INTEGER NOT NULL DEFAULT 0,
  started INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID
"""
_ADD_STARTED = "ALTER TABLE idempotency ADD COLUMN started INTEGER NOT NULL DEFAULT 0"
_COLUMNS = "key, fingerprint, status, holder, locked_until, result, error, created_at, "
_COLUMNS += "updated_at, takeovers, started"


class SqliteBackend:
    """Records in a table of one SQLite file; ``busy_timeout_s`` bounds the wait for the lock."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._ino = -1
        self._on_disk = str(path) not in ("", ":memory:")  # a memory store has no file to lose
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._refuse_odd_file()
            conn = self._conn()
            conn.execute(_SCHEMA)
            _migrate(conn)
        except (sqlite3.Error, OSError) as exc:
            raise IdempotencyStoreOpenError(
                f"cannot open the idempotency store {str(self.path)!r}: {exc}. Point the store "
                "at a writable SQLite file (it is created if missing); a corrupt store must be "
                "restored from a backup, since its completed keys are what stop repeats."
            ) from exc

    def _refuse_odd_file(self) -> None:
        """A FIFO or device would block or mislead SQLite: refuse it before connecting."""
        try:
            mode = os.stat(self.path).st_mode if self._on_disk else stat.S_IFREG
        except FileNotFoundError:
            return
        if not stat.S_ISREG(mode):
            raise OSError(f"not a regular file (mode {stat.filemode(mode)})")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            use_wal(conn, self.busy_timeout_s)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
            if self._ino == -1 and self._on_disk:
                self._ino = os.stat(self.path).st_ino
        return conn

    def _checked_conn(self) -> sqlite3.Connection:
        """The connection, after making sure the file is still the one we opened."""
        conn = self._conn()
        if not self._on_disk:
            return conn
        try:
            ino = os.stat(self.path).st_ino
        except OSError:
            ino = -2
        if ino != self._ino:
            raise IdempotencyStoreError(
                f"the idempotency store {str(self.path)!r} was deleted or replaced while open: "
                "a fresh file would forget every completed key and run them again, so nothing "
                "is executed. Restore the file from a backup, then restart the process."
            )
        return conn

    def _row(self, conn: sqlite3.Connection, key: str) -> Record | None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM idempotency WHERE key = ?", (key,)).fetchone()
        return _record(row) if row else None

    def begin(
        self,
        key: str,
        fp: str,
        holder: str,
        now: float,
        expiry: float,
        started: bool,
        takeover_of: str = "",
    ) -> Begin | None:
        conn = self._checked_conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcome = self._begin_locked(conn, key, fp, (holder, takeover_of), now, expiry, started)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return outcome

    def _begin_locked(
        self,
        conn: sqlite3.Connection,
        key: str,
        fp: str,
        holders: tuple[str, str],
        now: float,
        expiry: float,
        started: bool,
    ) -> Begin:
        (holder, takeover_of), found = holders, self._row(conn, key)
        if found is None:
            conn.execute(
                f"INSERT INTO idempotency ({_COLUMNS}) VALUES (?,?,?,?,?,NULL,NULL,?,?,0,?)",
                (key, fp, Status.IN_PROGRESS.value, holder, now + expiry, now, now, started),
            )
        elif not _expired(found, now) or found.fingerprint != fp:
            return Begin(False, found)
        elif found.started and found.holder != takeover_of:
            return Begin(False, found, expired_started=True)
        else:
            conn.execute(
                "UPDATE idempotency SET holder=?, locked_until=?, updated_at=?, started=?, "
                "takeovers=takeovers+1 WHERE key=?",
                (holder, now + expiry, now, started, key),
            )
        mine = self._row(conn, key)
        assert mine is not None  # written in this transaction
        return Begin(True, mine, took_over=found is not None)

    def lose(self, key: str, holder: str, reason: str, now: float) -> bool:
        cur = self._checked_conn().execute(
            "UPDATE idempotency SET status=?, error=?, updated_at=? "
            "WHERE key=? AND holder=? AND status=? AND locked_until<=?",
            (Status.COMPLETED_UNRECORDED.value, reason, now, key, holder, _IN_PROGRESS, now),
        )
        return cur.rowcount == 1

    def _finish(
        self, key: str, holder: str, status: Status, column: str, text: str, now: float
    ) -> bool:
        # a slow holder whose started lock was turned unrecorded may still record its result
        cur = self._checked_conn().execute(
            f"UPDATE idempotency SET status=?, {column}=?, updated_at=?, locked_until=? "
            "WHERE key=? AND holder=? AND status IN (?, ?)",
            (status.value, text, now, now, key, holder, *_OPEN_STATES),
        )
        return cur.rowcount == 1

    def start(self, key: str, holder: str) -> bool:
        cur = self._checked_conn().execute(
            "UPDATE idempotency SET started=1 WHERE key=? AND holder=? AND status=?",
            (key, holder, Status.IN_PROGRESS.value),
        )
        return cur.rowcount == 1

    def unrecorded(self, key: str, holder: str, reason: str, now: float) -> bool:
        return self._finish(key, holder, Status.COMPLETED_UNRECORDED, "error", reason, now)

    def complete(self, key: str, holder: str, result: str, now: float) -> bool:
        return self._finish(key, holder, Status.COMPLETED, "result", result, now)

    def fail(self, key: str, holder: str, error: str, now: float) -> bool:
        return self._finish(key, holder, Status.FAILED, "error", error, now)

    def release(self, key: str, holder: str) -> bool:
        cur = self._checked_conn().execute(
            "DELETE FROM idempotency WHERE key=? AND holder=? AND status=?",
            (key, holder, Status.IN_PROGRESS.value),
        )
        return cur.rowcount == 1

    def release_record(self, seen: Record) -> bool:
        cur = self._checked_conn().execute(
            "DELETE FROM idempotency WHERE key=? AND holder=? AND status=? AND locked_until=? "
            "AND updated_at=? AND started=?",
            (
                seen.key,
                seen.holder,
                seen.status.value,
                seen.locked_until,
                seen.updated_at,
                seen.started,
            ),
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
        started=bool(row[10]),
    )


_IN_PROGRESS = Status.IN_PROGRESS.value
_OPEN_STATES = (_IN_PROGRESS, Status.COMPLETED_UNRECORDED.value)


def _expired(record: Record, now: float) -> bool:
    return record.status is Status.IN_PROGRESS and record.locked_until <= now


def _migrate(conn: sqlite3.Connection) -> None:
    """Stores written before the ``started`` column get it (every old lock: not started)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(idempotency)")}
    if "started" not in columns:
        conn.execute(_ADD_STARTED)
