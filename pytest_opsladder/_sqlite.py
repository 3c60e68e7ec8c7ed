"""SQLite files shared by processes (ladder levels 1, 2 and 6: schedule state, idempotency
keys, rate-limit buckets): switching a file to WAL when others may be doing the same.

``PRAGMA journal_mode=WAL`` takes the file's exclusive lock. When two connections ask at the
same instant (workers starting together on a new file), SQLite answers one of them
``database is locked`` at once, without waiting the busy timeout: both hold a shared lock and
want to upgrade, and waiting could deadlock. The loser only has to ask again: the winner
switches the file and releases it within milliseconds.
"""

from __future__ import annotations

import sqlite3
import time

__all__ = ["use_wal"]


def use_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """``PRAGMA journal_mode=WAL`` on ``conn``, asked again (backing off from 5 ms to 100 ms)
    while the file is locked, for up to ``timeout_s``; then the last error is raised."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
