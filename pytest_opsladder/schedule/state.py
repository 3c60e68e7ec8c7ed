"""The monitors' state file (ladder level 1): one SQLite file that receipts and checks share.

Receipts are stamped with the *receiver's* clock (the process writing here), never the job's,
so a job whose clock is an hour off cannot satisfy a window it did not run in. The file is
opened per operation in WAL mode with a busy timeout, so a receiver thread, a job writing
directly and ``opsladder monitors check`` can share it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_opsladder._sqlite import use_wal
from pytest_opsladder.schedule.errors import MonitorNotFoundError
from pytest_opsladder.schedule.monitors import Monitor, Outcome, ReceiptKind
from pytest_opsladder.schedule.state_file import (
    SCHEMA as _SCHEMA,
)
from pytest_opsladder.schedule.state_file import (
    MonitorState,
    check_state_file,
    require_schema,
    state_error,
)
from pytest_opsladder.schedule.state_file import row_state as _state

__all__ = ["MonitorState", "MonitorStore"]


_BUSY_S = 10.0  # how long an operation waits for another process's lock


class MonitorStore:
    """Monitors, receipts, outcomes and alerts in one SQLite file; ``clock`` is epoch seconds.

    ``create=False`` (``check``, ``list``, receipts written to the file) refuses a state file
    that does not exist or is empty: a check against state that went missing would report
    nothing, the one answer a dead man's switch must never give by accident.
    """

    def __init__(
        self, path: str | Path, *, clock: Callable[[], float] = time.time, create: bool = True
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self._local = threading.local()
        check_state_file(self.path, create)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise state_error(self.path, exc) from exc
        self._mode = "rwc" if create else "rw"
        with self.connect() as conn:
            if create:
                conn.executescript(_SCHEMA)
            else:
                require_schema(conn, self.path)
        self._mode = "rw"  # from now on a state file deleted under us is an error, not re-made

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection (the open transaction's, inside :meth:`transaction`); every SQLite
        failure (corrupt, locked past the timeout, disk full) becomes MonitorStateError."""
        current = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        uri = f"{self.path.absolute().as_uri()}?mode={self._mode}"
        try:
            # timeout: sqlite's busy timeout, how long a write waits for another's lock
            conn = sqlite3.connect(uri, timeout=_BUSY_S, isolation_level=None, uri=True)
        except sqlite3.Error as exc:
            raise state_error(self.path, exc) from exc
        try:
            use_wal(conn, _BUSY_S)
            yield conn
        except sqlite3.Error as exc:
            raise state_error(self.path, exc) from exc
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): the store's methods called inside it
        share it, so a read and the writes it leads to are one step for concurrent checks."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            self._local.tx = conn
            try:
                yield conn
            except BaseException:
                self._local.tx = None
                with contextlib.suppress(sqlite3.Error):  # the error itself may have ended it
                    conn.execute("ROLLBACK")
                raise
            self._local.tx = None
            conn.execute("COMMIT")

    # -- monitors ------------------------------------------------------------------------
    def add(self, monitor: Monitor) -> None:
        """Create the monitor, or update its spec and keep its state."""
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO monitors (name, spec, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET spec=excluded.spec",
                (monitor.name, json.dumps(monitor.to_dict()), self.clock()),
            )

    def remove(self, name: str) -> None:
        self.get(name)
        with self.connect() as conn:
            for table, col in (
                ("monitors", "name"),
                ("receipts", "monitor"),
                ("outcomes", "monitor"),
            ):
                conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (name,))

    def get(self, name: str) -> MonitorState:
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM monitors WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise MonitorNotFoundError(
                f"no monitor named {name!r} in {self.path}; create it with `opsladder monitors "
                f"add {name} --cron '...'` (or --every SECONDS), or list them with "
                "`opsladder monitors list`.",
                monitor=name,
            )
        return _state(row, self.path)

    def all(self) -> list[MonitorState]:
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM monitors ORDER BY name").fetchall()
        return [_state(r, self.path) for r in rows]

    def set_paused(self, name: str, paused: bool) -> None:
        """Pause (sticky: receipts do not resume) or resume (the schedule restarts now)."""
        self.get(name)
        with self.connect() as conn:
            if paused:
                conn.execute("UPDATE monitors SET paused = 1 WHERE name = ?", (name,))
            else:
                conn.execute(
                    "UPDATE monitors SET paused = 0, resumed_at = ? WHERE name = ?",
                    (self.clock(), name),
                )

    def save_alert_state(self, name: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.connect() as conn:
            conn.execute(f"UPDATE monitors SET {sets} WHERE name = ?", (*fields.values(), name))

    # -- receipts ------------------------------------------------------------------------
    def record_receipt(
        self,
        name: str,
        kind: ReceiptKind | str,
        run_id: str | None = None,
        *,
        sent_at: float | None = None,
        message: str = "",
    ) -> int:
        """Store a receipt stamped with this store's clock; returns its id."""
        kind = ReceiptKind(ReceiptKind.parse(kind, setting="receipt kind"))
        state = self.get(name)
        now = self.clock()
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            rid = self._insert_receipt(conn, state, kind, run_id, now, sent_at, message)
            conn.execute("COMMIT")
        return rid

    def _insert_receipt(
        self,
        conn: sqlite3.Connection,
        state: MonitorState,
        kind: ReceiptKind,
        run_id: str | None,
        now: float,
        sent_at: float | None,
        message: str,
    ) -> int:
        name = state.monitor.name
        if kind is ReceiptKind.SUCCESS:  # closes only its own run's start
            conn.execute(
                "UPDATE receipts SET open = 0 WHERE monitor = ? AND kind = 'start' AND open = 1 "
                "AND run_id IS ?",
                (name, run_id),
            )
        elif kind is ReceiptKind.FAIL:  # a failure closes every open start
            conn.execute("UPDATE receipts SET open = 0 WHERE monitor = ? AND open = 1", (name,))
        cur = conn.execute(
            "INSERT INTO receipts (monitor, kind, run_id, received_at, sent_at, message, paused, "
            "open) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                kind.value,
                run_id,
                now,
                sent_at,
                message[:2000],
                int(state.paused),
                int(kind is ReceiptKind.START and not state.paused),
            ),
        )
        rid = int(cur.lastrowid or 0)
        if kind is not ReceiptKind.START and not state.paused:
            outcome = Outcome.OK if kind is ReceiptKind.SUCCESS else Outcome.FAILING
            self._add_outcome(conn, name, outcome, f"receipt:{rid}", now)
        return rid

    def receipts(self, name: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.row_factory = sqlite3.Row  # on the cursor: a shared transaction keeps tuples
            rows = cur.execute(
                "SELECT * FROM receipts WHERE monitor = ? ORDER BY id DESC LIMIT ?", (name, limit)
            ).fetchall()
        return [dict(r) for r in rows]

    def open_starts(self, name: str) -> list[tuple[int, float, str | None]]:
        with self.connect() as conn:
            return conn.execute(
                "SELECT id, received_at, run_id FROM receipts WHERE monitor = ? AND open = 1 "
                "ORDER BY id",
                (name,),
            ).fetchall()

    def close_start(self, receipt_id: int) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE receipts SET open = 0 WHERE id = ?", (receipt_id,))

    def last_activity(self, name: str) -> float | None:
        """The latest receipt (any kind) received while not paused."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT MAX(received_at) FROM receipts WHERE monitor = ? AND paused = 0", (name,)
            ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # -- outcomes and alerts -------------------------------------------------------------
    def _add_outcome(
        self, conn: sqlite3.Connection, name: str, kind: Outcome, ref: str, at: float
    ) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO outcomes (monitor, kind, ref, at) VALUES (?, ?, ?, ?)",
            (name, kind.value, ref, at),
        )

    def add_outcome(self, name: str, kind: Outcome, ref: str, at: float) -> None:
        with self.connect() as conn:
            self._add_outcome(conn, name, kind, ref, at)

    def last_missed_slot(self, name: str) -> float | None:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT MAX(at) FROM outcomes WHERE monitor = ? AND kind = 'missed'", (name,)
            ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def outcomes_after(self, name: str, after_id: int) -> list[tuple[int, Outcome, float]]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT id, kind, at FROM outcomes WHERE monitor = ? AND id > ? ORDER BY id",
                (name, after_id),
            ).fetchall()
        return [(int(i), Outcome(k), float(a)) for i, k, a in rows]

    def add_alert(self, name: str, state: str, kind: str, message: str) -> int:
        """Record an alert claimed for delivery by this process (see :meth:`claim_retry`)."""
        now = self.clock()
        claim = json.dumps({"results": {}, "attempts": 0, "claimed_at": now})
        with self.connect() as conn:
            cur = conn.execute(
                "INSERT INTO alerts (monitor, state, kind, at, message, deliveries) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, state, kind, now, message, claim),
            )
            return int(cur.lastrowid or 0)

    def claim_retry(
        self, alert_id: int, due: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """Atomically take an alert's next delivery attempt when ``due(record)``; None when it
        is not due or another check holds it (so overlapping checks never send it twice)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT deliveries FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            record = json.loads(row[0]) if row else {}
            if not row or not due(record):
                return None
            record = record | {
                "attempts": record.get("attempts", 0) + 1,
                "claimed_at": self.clock(),
            }
            conn.execute(
                "UPDATE alerts SET deliveries = ? WHERE id = ?", (json.dumps(record), alert_id)
            )
        return record

    def alerts(self, name: str | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM alerts", tuple[str, ...]()
        if name is not None:
            query, args = query + " WHERE monitor = ?", (name,)
        with self.connect() as conn:
            cur = conn.cursor()
            cur.row_factory = sqlite3.Row
            rows = cur.execute(query + " ORDER BY id", args).fetchall()
        return [dict(r) | {"deliveries": json.loads(r["deliveries"])} for r in rows]

    def set_deliveries(self, alert_id: int, deliveries: dict[str, Any]) -> None:
        with self.connect() as conn:
            conn.execute(
                "UPDATE alerts SET deliveries = ? WHERE id = ?", (json.dumps(deliveries), alert_id)
            )
