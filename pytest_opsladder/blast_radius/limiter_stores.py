"""Shared stores for the rate limiter (ladder level 6): SQLite (one machine), Redis (many).

SQLite serialises check-and-consume with ``BEGIN IMMEDIATE``; Redis runs it as one Lua script
that reads the server's own ``TIME``, so every machine shares one clock. ``redis`` is imported
only when a Redis store is built.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from pytest_opsladder.blast_radius.clocks import Clock, monotonic
from pytest_opsladder.blast_radius.limiter import Decision, consume, refill

_SCHEMA = "CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL, ts REAL)"


class SQLiteStore:
    """Buckets in a SQLite file shared by the processes of one machine."""

    name = "sqlite"

    def __init__(self, path: str | Path, *, clock: Clock = monotonic, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.clock = clock
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()  # threads queue here, not in SQLite's sleeping busy handler

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

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
        tokens, last = row if row else (capacity, now)
        tokens = refill(tokens, last, now, capacity, rate)
        allowed, left, retry = consume(tokens, cost, rate)
        conn.execute(
            "INSERT OR REPLACE INTO buckets (key, tokens, ts) VALUES (?, ?, ?)",
            (key, left, max(now, last)),
        )
        return Decision(allowed, left, retry)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


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
if not tokens then tokens = cap; last = now end
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
