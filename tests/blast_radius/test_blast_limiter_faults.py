"""Rate-limiter stores under faults (issue 15): every fault is a store failure that the limiter
turns into a refusal (``on_store_error='closed'``, the default) or an allowance ('open')."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_opsladder.blast_radius.errors import LimiterStoreError
from pytest_opsladder.blast_radius.limiter import RateLimiter
from pytest_opsladder.blast_radius.limiter_stores import RedisStore, SQLiteStore


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # SQLite would block reading it


def _directory(path: Path) -> None:
    path.mkdir()


def _corrupt(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))


def _symlink_loop(path: Path) -> None:
    path.symlink_to(path)


def _under_a_file(path: Path) -> None:
    path.parent.rmdir()
    path.parent.write_text("a file where the store's directory should be")


def _bad_numbers(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE buckets (key TEXT PRIMARY KEY, tokens REAL, ts REAL)")
    conn.execute("INSERT INTO buckets VALUES ('wf:send', 'NaN', 0), ('wf:mail', -5, 0)")
    conn.execute("INSERT INTO buckets VALUES ('wf:sms', 'lots', 0), ('wf:fax', NULL, NULL)")
    conn.commit()
    conn.close()


SQLITE_FAULTS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "directory": _directory,
    "corrupt": _corrupt,
    "symlink loop": _symlink_loop,
    "under a file": _under_a_file,
    "bad numbers": _bad_numbers,
}


@pytest.mark.parametrize("fault", list(SQLITE_FAULTS))
def test_odd_sqlite_state_refuses_by_default_and_allows_when_open(
    tmp_path: Path, fault: str
) -> None:
    path = tmp_path / "state" / "limits.db"
    path.parent.mkdir()
    SQLITE_FAULTS[fault](path)
    closed = RateLimiter("1000/minute", store=SQLiteStore(path, timeout=0.1))
    opened = RateLimiter("1000/minute", store=SQLiteStore(path, timeout=0.1), on_store_error="open")
    for key in ("wf:send", "wf:mail", "wf:sms", "wf:fax"):
        with pytest.raises(LimiterStoreError, match="sqlite store failed"):
            closed.acquire(key)
        assert opened.acquire(key).allowed


def test_a_full_disk_refuses(tmp_path: Path, file_size_limit: Callable[[int], None]) -> None:
    store = SQLiteStore(tmp_path / "limits.db")
    limiter = RateLimiter("1000/minute", store=store)
    limiter.acquire("k")

    def burst() -> None:
        for i in range(200):  # the WAL grows until a write goes past the limit
            limiter.acquire(f"k{i}")

    file_size_limit(1)
    try:
        with pytest.raises(LimiterStoreError, match=r"disk|full|I/O"):
            burst()
    finally:
        file_size_limit(2**40)


def test_a_store_deleted_while_open_refuses_once_then_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    limiter = RateLimiter("2/hour", store=SQLiteStore(path))
    limiter.acquire("k")
    limiter.acquire("k")
    assert not limiter.try_acquire("k").allowed
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(LimiterStoreError, match="deleted or replaced while open"):
        limiter.acquire("k")
    # the documented bound: a lost store starts over with full buckets, in one shared file
    assert limiter.try_acquire("k").allowed
    assert RateLimiter("2/hour", store=SQLiteStore(path)).try_acquire("k").allowed
    assert not limiter.try_acquire("k").allowed
    assert path.exists()


@pytest.mark.parametrize(
    "garble",
    [
        lambda r, k: r.hset(k, mapping={"tokens": "nan", "ts": "1"}),
        lambda r, k: r.hset(k, mapping={"tokens": "-3", "ts": "1"}),
        lambda r, k: r.hset(k, mapping={"tokens": "inf", "ts": "1"}),
        lambda r, k: r.hset(k, mapping={"tokens": "many", "ts": "1"}),
        lambda r, k: r.hset(k, mapping={"ts": "1"}),
        lambda r, k: r.set(k, "not a hash"),
    ],
    ids=["nan", "negative", "inf", "text", "no tokens", "wrong type"],
)
def test_a_corrupt_redis_bucket_never_reads_as_full(
    redis_server: str, garble: Callable[[object, str], object]
) -> None:
    import redis

    prefix = f"t-{uuid.uuid4().hex}:"
    garble(redis.Redis.from_url(redis_server), prefix + "wf:send")
    limiter = RateLimiter("1000/minute", store=RedisStore(redis_server, prefix=prefix))
    with pytest.raises(LimiterStoreError, match="redis store failed"):
        limiter.acquire("wf:send")
    assert limiter.acquire("wf:other").allowed  # only the corrupt bucket is refused
