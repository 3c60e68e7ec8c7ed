"""Ladder level 6: rate limits are atomic check-and-consume, weighted all-or-nothing."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.errors import (
    BlastRadiusConfigError,
    LimiterStoreError,
    RateLimitedError,
)
from pytest_opsladder.blast_radius.limiter import (
    BucketStore,
    FailMode,
    MemoryStore,
    RateLimiter,
    parse_rate,
)
from pytest_opsladder.blast_radius.limiter_stores import RedisStore, SQLiteStore
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant

StoreFactory = Callable[[ManualClock], BucketStore]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Each store, on a manual clock, with a key prefix of its own."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore
    elif kind == "sqlite":
        yield lambda clock: SQLiteStore(tmp_path / "limits.db", clock=clock)
    else:
        url = request.getfixturevalue("redis_server")
        prefix = f"t-{uuid.uuid4().hex}:"
        yield lambda clock: RedisStore(url, prefix=prefix, clock=clock)


def test_parse_rate() -> None:
    assert parse_rate("10/minute") == (10, 60)
    assert parse_rate("5/30s") == (5, 30)
    assert parse_rate("2 / h") == (2, 3600)
    with pytest.raises(BlastRadiusConfigError, match=r"'ten a minute' is not understood"):
        parse_rate("ten a minute")


BAD_RATES = {
    "period NaN": ((5, float("nan")), "period=nan"),
    "period infinite": ((5, float("inf")), "period=inf"),
    "capacity infinite": ((float("inf"), 60), "capacity=inf"),
    "capacity NaN": ((float("nan"), 60), "capacity=nan"),
    "capacity a bool": ((True, 60), "capacity=True"),
    "period a string": ((5, "60"), "period='60'"),
    "capacity zero": ((0, 60), "capacity=0"),
    "period negative": ((5, -1), "period=-1"),
    "a rate that underflows to 0": ((1e-300, 1e300), "capacity/period=0.0"),
    "a count too long for a float": ("1" + "0" * 400 + "/s", "capacity=inf"),
    "not a pair": ((5, 60, 1), "neither 'COUNT/PERIOD' nor"),
}


@pytest.mark.parametrize(("rate", "says"), BAD_RATES.values(), ids=BAD_RATES.keys())
def test_a_rate_that_cannot_limit_is_refused_when_built(
    tmp_path: Path, rate: object, says: str
) -> None:
    for store in (MemoryStore(), SQLiteStore(tmp_path / "limits.db")):
        with pytest.raises(
            BlastRadiusConfigError, match=rf"rate limiter 'pay': .*{re.escape(says)}"
        ):
            RateLimiter(rate, store=store, name="pay", on_store_error="open")  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1, True, "5"])
def test_a_sqlite_store_timeout_that_is_not_seconds_is_refused(
    tmp_path: Path, timeout: object
) -> None:
    with pytest.raises(
        BlastRadiusConfigError, match=rf"SQLiteStore .*timeout={re.escape(repr(timeout))}"
    ):
        SQLiteStore(tmp_path / "limits.db", timeout=timeout)  # type: ignore[arg-type]


def test_a_bucket_allows_capacity_then_refills(make_store: StoreFactory) -> None:
    clock = ManualClock()
    limiter = RateLimiter("3/minute", store=make_store(clock))
    assert [limiter.try_acquire("wf:send").allowed for _ in range(4)] == [True] * 3 + [False]
    refused = limiter.try_acquire("wf:send")
    assert refused.retry_after == pytest.approx(20, rel=1e-6)
    clock.advance(20)
    assert limiter.try_acquire("wf:send").allowed
    assert not limiter.try_acquire("wf:send").allowed


def test_keys_are_separate_buckets_per_tool_and_workflow(make_store: StoreFactory) -> None:
    limiter = RateLimiter("1/minute", store=make_store(ManualClock()))
    assert limiter.try_acquire("billing:send_email").allowed
    assert limiter.try_acquire("support:send_email").allowed
    assert limiter.try_acquire("billing:refund").allowed
    assert not limiter.try_acquire("billing:send_email").allowed


def test_weighted_calls_take_all_units_or_none(make_store: StoreFactory) -> None:
    limiter = RateLimiter("10/minute", store=make_store(ManualClock()))
    assert limiter.try_acquire("k", cost=7).allowed
    refused = limiter.try_acquire("k", cost=4)
    assert not refused.allowed
    assert refused.remaining == pytest.approx(3)  # the refused call took nothing
    assert limiter.try_acquire("k", cost=3).allowed
    with pytest.raises(BlastRadiusConfigError, match="can never be granted"):
        limiter.try_acquire("k", cost=11)


def test_a_clock_stepping_back_mints_nothing_and_a_leap_caps_at_capacity(
    make_store: StoreFactory,
) -> None:
    clock = ManualClock()
    store = make_store(clock)
    limiter = RateLimiter("2/minute", store=store)
    limiter.try_acquire("k", cost=2)
    clock.advance(-3600)  # the clock jumps back an hour
    assert not limiter.try_acquire("k").allowed
    clock.advance(3600 + 30)  # back where it was plus 30 s: one token refilled, not 61
    # SQLite takes a stored time ahead of the clock as a reboot's and refills from then, so
    # the jump forward is a leap from there: the bucket is full (capacity, not 61)
    refilled = 2 if isinstance(store, SQLiteStore) else 1
    assert [limiter.try_acquire("k").allowed for _ in range(refilled + 1)] == [True] * refilled + [
        False
    ]
    clock.advance(10**6)  # leaps far ahead: the bucket fills to capacity, no further
    assert [limiter.try_acquire("k").allowed for _ in range(3)] == [True, True, False]


def test_a_sqlite_bucket_written_before_a_reboot_refills_from_now(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    before = RateLimiter("5/10s", store=SQLiteStore(db, clock=ManualClock(2 * 86400.0)))
    assert [before.try_acquire("k").allowed for _ in range(6)] == [True] * 5 + [False]
    clock = ManualClock(30.0)  # after the reboot the monotonic clock reads 30 s of uptime
    after = RateLimiter("5/10s", store=SQLiteStore(db, clock=clock))
    refused = after.try_acquire("k")
    assert (refused.allowed, refused.retry_after) == (False, 2.0)  # one token at 0.5 a second
    clock.advance(refused.retry_after)
    assert after.try_acquire("k").allowed  # as it said, not two days later
    clock.advance(10)
    assert [after.try_acquire("k").allowed for _ in range(6)] == [True] * 5 + [False]


def test_check_and_consume_is_atomic_under_threads(make_store: StoreFactory) -> None:
    limiter = RateLimiter("50/hour", store=make_store(ManualClock()))
    start = threading.Barrier(8)

    def worker(_: int) -> int:
        start.wait(timeout=10)
        return sum(limiter.try_acquire("shared").allowed for _ in range(25))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 50


_WORKER = """
import sys
from pytest_opsladder.blast_radius.limiter import RateLimiter
from pytest_opsladder.blast_radius.limiter_stores import RedisStore, SQLiteStore
kind, where, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
store = SQLiteStore(where) if kind == "sqlite" else RedisStore(where, prefix=prefix)
limiter = RateLimiter("60/hour", store=store)
print(sum(limiter.try_acquire("shared").allowed for _ in range(40)))
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_share_one_budget(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = str(tmp_path / "l.db") if kind == "sqlite" else request.getfixturevalue("redis_server")
    prefix = f"p-{uuid.uuid4().hex}:"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, kind, where, prefix], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    granted = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(granted) == 60  # 160 attempts, one budget of 60, real clock (refill is tiny)


def test_redis_takes_time_from_the_server_clock(redis_server: str) -> None:
    store = RedisStore(redis_server, prefix=f"s-{uuid.uuid4().hex}:")  # no clock: server TIME
    limiter = RateLimiter("2/hour", store=store)
    assert [limiter.try_acquire("k").allowed for _ in range(3)] == [True, True, False]
    raw = store.client.hgetall(f"{store.prefix}k")
    server_now = float(".".join(str(x) for x in store.client.time()))
    assert abs(float(raw[b"ts"]) - server_now) < 60


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_store_that_is_down_follows_the_configured_policy(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        bad = tmp_path / "not-a-db"
        bad.write_bytes(b"this is not a database" * 100)
        make: Callable[[], BucketStore] = lambda: SQLiteStore(bad, timeout=0.1)  # noqa: E731
    else:
        url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        make = lambda: RedisStore(url, socket_timeout=0.2)  # noqa: E731
    run = Run(Case("c"), Variant("v"))
    closed = RateLimiter("5/minute", store=make(), on_store_error="closed", name="mail")
    opened = RateLimiter("5/minute", store=make(), on_store_error=FailMode.OPEN)
    with activate(run):
        with pytest.raises(LimiterStoreError, match=r"'mail'.*on_store_error='closed'"):
            closed.acquire("k")
        assert opened.acquire("k").allowed
    assert [e.data["policy"] for e in run.events_of("limiter_store_down")] == ["closed", "open"]


def test_an_unknown_fail_mode_lists_the_valid_ones() -> None:
    with pytest.raises(BlastRadiusConfigError, match="Valid values are: open, closed"):
        RateLimiter("1/s", on_store_error="maybe")


def test_acquire_raises_and_records_the_refusal() -> None:
    limiter = RateLimiter("1/minute", store=MemoryStore(ManualClock()), name="email")
    run = Run(Case("c"), Variant("v"))
    with activate(run):
        limiter.acquire("wf:send")
        with pytest.raises(RateLimitedError, match=r"'email' refused 'wf:send'") as info:
            limiter.acquire("wf:send")
    assert info.value.retry_after == pytest.approx(60)
    assert run.events_of("rate_limited")[0].data["key"] == "wf:send"


def test_sqlite_state_survives_a_new_store(tmp_path: Path) -> None:
    clock = ManualClock()
    RateLimiter("1/minute", store=SQLiteStore(tmp_path / "l.db", clock=clock)).acquire("k")
    again = RateLimiter("1/minute", store=SQLiteStore(tmp_path / "l.db", clock=clock))
    assert not again.try_acquire("k").allowed
    rows = sqlite3.connect(tmp_path / "l.db").execute("SELECT key FROM buckets").fetchall()
    assert rows == [("k",)]
