"""The Redis idempotency backend (level 2): one store for several machines.

Every check-and-claim, completion and release is a Lua script, so it is atomic on the server.
Lock deadlines are taken from the Redis server's clock by default (``server_time=True``), so
machines whose clocks disagree (by an hour, say) still agree on when a lock expires; with
``server_time=False`` the caller's injected clock is used, as the SQLite backend does (tests).
The ``redis`` client is imported here, when a Redis store is opened, never at plugin load.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.idempotency.errors import IdempotencyStoreOpenError
from pytest_opsladder.idempotency.records import Begin, Record, Status

PREFIX = "opsladder:idem:"

# the time is the caller's (ARGV given) or, when empty, the Redis server's own clock
_NOW = """
local function at(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function fmt(x) return string.format('%.6f', x) end
"""

_BEGIN = (
    _NOW
    + """
local k = KEYS[1]
local now = at(ARGV[3])
local nows, untils = fmt(now), fmt(now + tonumber(ARGV[4]))
local st = redis.call('HGET', k, 'status')
local acq, took, lost = 0, 0, 0
if not st then
  redis.call('HSET', k, 'fingerprint', ARGV[1], 'status', 'in_progress', 'holder', ARGV[2],
    'locked_until', untils, 'created_at', nows, 'updated_at', nows, 'takeovers', 0,
    'started', ARGV[5])
  acq = 1
elseif st == 'in_progress' and redis.call('HGET', k, 'fingerprint') == ARGV[1]
  and tonumber(redis.call('HGET', k, 'locked_until')) <= now then
  if redis.call('HGET', k, 'started') == '1'
    and redis.call('HGET', k, 'holder') ~= ARGV[6] then
    lost = 1
  else
    redis.call('HSET', k, 'holder', ARGV[2], 'locked_until', untils, 'updated_at', nows,
      'started', ARGV[5])
    redis.call('HINCRBY', k, 'takeovers', 1)
    acq, took = 1, 1
  end
end
local out = {acq, took, lost}
for _, v in ipairs(redis.call('HGETALL', k)) do table.insert(out, v) end
return out
"""
)

_FINISH = (
    _NOW
    + """
local k = KEYS[1]
local holder, st = redis.call('HGET', k, 'holder'), redis.call('HGET', k, 'status')
if holder ~= ARGV[1] or (st ~= 'in_progress' and st ~= 'completed_unrecorded') then
  return 0
end
local nows = fmt(at(ARGV[5]))
redis.call('HSET', k, 'status', ARGV[2], ARGV[3], ARGV[4], 'updated_at', nows,
  'locked_until', nows)
return 1
"""
)

_RELEASE = """
local k = KEYS[1]
local holder, st = redis.call('HGET', k, 'holder'), redis.call('HGET', k, 'status')
if holder == ARGV[1] and st == 'in_progress' then
  return redis.call('DEL', k)
end
return 0
"""

# an operator's release: delete only the very record it inspected (compare-and-delete)
_RELEASE_RECORD = """
local k = KEYS[1]
local f = redis.call('HMGET', k, 'holder', 'status', 'locked_until', 'updated_at', 'started')
if f[1] == ARGV[1] and f[2] == ARGV[2] and tonumber(f[3]) == tonumber(ARGV[3])
  and tonumber(f[4]) == tonumber(ARGV[4]) and (f[5] == '1') == (ARGV[5] == '1') then
  return redis.call('DEL', k)
end
return 0
"""

_START = """
local k = KEYS[1]
local holder, st = redis.call('HGET', k, 'holder'), redis.call('HGET', k, 'status')
if holder == ARGV[1] and st == 'in_progress' then
  redis.call('HSET', k, 'started', '1')
  return 1
end
return 0
"""

_LOSE = (
    _NOW
    + """
local k = KEYS[1]
local now = at(ARGV[3])
if redis.call('HGET', k, 'holder') == ARGV[1] and redis.call('HGET', k, 'status') == 'in_progress'
  and tonumber(redis.call('HGET', k, 'locked_until')) <= now then
  redis.call('HSET', k, 'status', 'completed_unrecorded', 'error', ARGV[2],
    'updated_at', fmt(now))
  return 1
end
return 0
"""
)


class RedisBackend:
    """Records as Redis hashes under ``opsladder:idem:<key>``."""

    def __init__(
        self, url: str, *, socket_timeout_s: float = 5.0, server_time: bool = True
    ) -> None:
        import redis

        self.url = url
        self.server_time = server_time
        try:
            self._redis: Any = redis.Redis.from_url(url, socket_timeout=socket_timeout_s)
            self._redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise IdempotencyStoreOpenError(
                f"cannot reach the Redis idempotency store {url!r}: {exc}. Check the URL "
                "(redis://host:port/db) and that redis-server is running."
            ) from exc
        self._begin = self._redis.register_script(_BEGIN)
        self._finish = self._redis.register_script(_FINISH)
        self._release = self._redis.register_script(_RELEASE)
        self._release_record = self._redis.register_script(_RELEASE_RECORD)
        self._start = self._redis.register_script(_START)
        self._lose = self._redis.register_script(_LOSE)

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
        args = [fp, holder, self._at(now), repr(expiry), "1" if started else "0", takeover_of]
        out = self._begin(keys=[PREFIX + key], args=args)
        fields = _pairs(out[3:])
        if not fields:
            return None
        record = _record(key, fields)
        return Begin(bool(out[0]), record, took_over=bool(out[1]), expired_started=bool(out[2]))

    def lose(self, key: str, holder: str, reason: str, now: float) -> bool:
        return bool(self._lose(keys=[PREFIX + key], args=[holder, reason, self._at(now)]))

    def _finish_as(
        self, key: str, holder: str, status: Status, col: str, text: str, now: float
    ) -> bool:
        args = [holder, status.value, col, text, self._at(now)]
        return bool(self._finish(keys=[PREFIX + key], args=args))

    def _at(self, now: float) -> str:
        return "" if self.server_time else repr(now)

    def complete(self, key: str, holder: str, result: str, now: float) -> bool:
        return self._finish_as(key, holder, Status.COMPLETED, "result", result, now)

    def fail(self, key: str, holder: str, error: str, now: float) -> bool:
        return self._finish_as(key, holder, Status.FAILED, "error", error, now)

    def start(self, key: str, holder: str) -> bool:
        return bool(self._start(keys=[PREFIX + key], args=[holder]))

    def unrecorded(self, key: str, holder: str, reason: str, now: float) -> bool:
        return self._finish_as(key, holder, Status.COMPLETED_UNRECORDED, "error", reason, now)

    def release(self, key: str, holder: str) -> bool:
        return bool(self._release(keys=[PREFIX + key], args=[holder]))

    def release_record(self, seen: Record) -> bool:
        args = [seen.holder, seen.status.value, repr(seen.locked_until), repr(seen.updated_at)]
        args.append("1" if seen.started else "0")
        return bool(self._release_record(keys=[PREFIX + seen.key], args=args))

    def get(self, key: str) -> Record | None:
        fields = {_text(k): _text(v) for k, v in self._redis.hgetall(PREFIX + key).items()}
        return _record(key, fields) if fields else None

    def delete(self, key: str) -> bool:
        return bool(self._redis.delete(PREFIX + key))

    def _keys(self, prefix: str) -> list[str]:
        found = self._redis.scan_iter(match=_glob_escape(PREFIX + prefix) + "*", count=500)
        return sorted(_text(k)[len(PREFIX) :] for k in found)

    def records(self, prefix: str = "") -> list[Record]:
        return [r for r in (self.get(k) for k in self._keys(prefix)) if r is not None]

    def clear(self, prefix: str = "") -> int:
        keys = self._keys(prefix)
        return int(self._redis.delete(*[PREFIX + k for k in keys])) if keys else 0

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisBackend({self.url!r})"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(flat: list[Any]) -> dict[str, str]:
    items = [_text(v) for v in flat]
    return dict(zip(items[0::2], items[1::2], strict=True))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _record(key: str, f: dict[str, str]) -> Record:
    return Record(
        key=key,
        fingerprint=f["fingerprint"],
        status=Status(f["status"]),
        holder=f["holder"],
        locked_until=float(f["locked_until"]),
        result=f.get("result"),
        error=f.get("error"),
        created_at=float(f["created_at"]),
        updated_at=float(f["updated_at"]),
        takeovers=int(f.get("takeovers", 0)),
        started=f.get("started") == "1",
    )
