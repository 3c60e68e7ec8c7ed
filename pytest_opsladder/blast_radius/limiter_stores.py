"""Shared stores for the rate limiter (ladder level 6): SQLite (one machine), Redis (many).

SQLite serialises check-and-consume with ``BEGIN IMMEDIATE``; Redis runs it as one Lua script
that reads the server's own ``TIME``, so every machine shares one clock. ``redis`` is imported
only when a Redis store is built.

Faults (docs/faults.md): every fault of the store's state is a store failure, which the limiter
turns into a refusal or an allowance per its ``on_store_error`` (default: refuse). That covers a
path that is not a regular file (refused before SQLite opens it, so a FIFO blocks nobody), an
unreadable or corrupt database, a full disk, a bucket whose stored numbers are not sane (NaN,
negative, text: never read as a full bucket), a Redis key of the wrong type, and a SQLite file
deleted or replaced while open (the call is refused once, then the store reconnects). A store
that is gone starts over with full buckets: at most one extra burst of ``capacity`` per key.

The SQLite file outlives a reboot, and the monotonic clock restarts near 0 with one, so a
bucket can hold a time ahead of the clock. Time elapsed across a reboot is unknown, so such a
bucket is credited nothing and refills from now: its ``retry_after`` is what the next call
will find, never days. (Crediting ``now - ts`` when the clock is past ``ts`` is safe: since
the reboot at least ``now`` seconds passed.)
"""

from __future__ import annotations

import math
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

from pytest_opsladder._forksafe import drop_in_forked_child
from pytest_opsladder._sqlite import use_wal
from pytest_opsladder.blast_radius.clocks import Clock, monotonic
from pytest_opsladder.blast_radius.limiter import Decision, consume, refill
from pytest_opsladder.blast_radius.numbers import positive_seconds

_SCHEMA = "CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL, ts REAL)"
# Connections a forked child inherited: kept referenced, so never used nor closed there (SQLite
# must not touch a connection opened before a fork; closing it may disturb the parent's locks).
_INHERITED: list[sqlite3.Connection] = []


class LimiterStateError(Exception):
    """The store's state is unusable (corrupt, replaced, not a file); a store failure."""


class SQLiteStore:
    """Buckets in a SQLite file shared by the processes of one machine."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, clock: Clock = monotonic, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.clock = clock
        self.timeout = positive_seconds(
            timeout,
            owner=f"SQLiteStore {str(path)!r}",
            setting="timeout",
            example="timeout=5",
            zero_ok=True,
        )
        self._local = threading.local()
        self._lock = threading.Lock()  # threads queue here, not in SQLite's sleeping busy handler
        drop_in_forked_child(self)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid != os.getpid():
            _INHERITED.append(conn)  # inherited through fork: neither used nor closed
            conn = self._local.conn = None
        ino = self._file_id()
        if conn is not None and ino != self._local.ino:
            self.close()  # deleted or replaced under us: refuse this call, reconnect next time
            raise LimiterStateError(f"{self.path} was deleted or replaced while open")
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            try:
                _prepare(conn, self.timeout)
            except BaseException:
                conn.close()
                raise
            self._local.conn, self._local.ino = conn, self._file_id()
            self._local.pid = os.getpid()
        return conn

    def _file_id(self) -> int:
        """The file's inode (-1 if absent); anything but a regular file is refused."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return -1
        if not stat.S_ISREG(st.st_mode):
            raise LimiterStateError(f"{self.path} is not a regular file")
        return st.st_ino

    def take(self, key: str, cost: float, capacity: float, rate: float) -> Decision:
        with self._lock:
            return self._transaction(key, cost, capacity, rate)

    def _transaction(self, key: str, cost: float, capacity: float, rate: float) -> Decision:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            decision = self._take(conn, key, cost, capacity, rate)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return decision

    def _take(
        self, conn: sqlite3.Connection, key: str, cost: float, capacity: float, rate: float
    ) -> Decision:
        now = self.clock()
        row = conn.execute("SELECT tokens, ts FROM buckets WHERE key = ?", (key,)).fetchone()
        tokens, last = _sane(key, row, capacity) if row else (capacity, now)
        tokens = refill(tokens, min(last, now), now, capacity, rate)
        allowed, left, retry = consume(tokens, cost, rate)
        conn.execute(
            "INSERT OR REPLACE INTO buckets (key, tokens, ts) VALUES (?, ?, ?)", (key, left, now)
        )
        return Decision(allowed, left, retry)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _after_fork_in_child(self) -> None:
        """In a forked child: a fresh thread lock (a thread of the parent may have held this
        one, waiting on SQLite, at the fork) and the forking thread's connection set aside."""
        self._lock = threading.Lock()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            _INHERITED.append(conn)
            self._local.conn = None


def _prepare(conn: sqlite3.Connection, timeout_s: float) -> None:
    use_wal(conn, timeout_s)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_SCHEMA)


def _sane(key: str, row: tuple[object, object], capacity: float) -> tuple[float, float]:
    """A stored bucket, or LimiterStateError: a corrupt bucket must never read as full."""
    tokens, ts = row
    ok = all(isinstance(v, int | float) and math.isfinite(v) for v in (tokens, ts))
    if not ok or tokens < 0:  # type: ignore[operator]
        raise LimiterStateError(f"bucket {key!r} holds {tokens!r} tokens at {ts!r}: corrupt")
    return min(float(tokens), capacity), float(ts)  # type: ignore[arg-type]  # a lowered limit


# KEYS[1] bucket; ARGV: cost, capacity, rate, now ("" = the server's TIME), ttl seconds.
_LUA = """
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local cost, cap, rate = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, last = tonumber(state[1]), tonumber(state[2])
if state[1] or state[2] then
  -- a bucket that exists must hold sane numbers: a corrupt one never reads as full
  local bad = not tokens or not last or tokens ~= tokens or last ~= last or tokens < 0
  if bad or tokens == math.huge or math.abs(last) == math.huge then
    return redis.error_reply('corrupt bucket ' .. KEYS[1])
  end
end
if not tokens then tokens = cap; last = now end
tokens = math.min(tokens, cap)
if now > last then tokens = math.min(cap, tokens + (now - last) * rate) else now = last end
local allowed = 0
local retry = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 else retry = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return {allowed, tostring(tokens), tostring(retry)}
"""


class RedisStore:
    """Buckets in Redis, shared by every machine; time is the Redis server's clock."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "opsladder:rl:",
        clock: Clock | None = None,
        socket_timeout: float = 0.5,
    ) -> None:
        import redis

        socket_timeout = positive_seconds(
            socket_timeout, owner="RedisStore", setting="socket_timeout", example="0.5"
        )
        self.prefix = prefix
        self.clock = clock
        self.client: Any = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        self._script: Any = self.client.register_script(_LUA)

    def take(self, key: str, cost: float, capacity: float, rate: float) -> Decision:
        now = "" if self.clock is None else repr(self.clock())
        ttl = int(capacity / rate) + 60
        allowed, left, retry = self._script(
            keys=[self.prefix + key], args=[repr(cost), repr(capacity), repr(rate), now, ttl]
        )
        return Decision(bool(allowed), float(left), float(retry))
