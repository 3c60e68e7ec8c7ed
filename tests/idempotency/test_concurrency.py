"""Faults: fifty threads, four processes and many asyncio tasks on one key; a crash mid-action."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pytest_opsladder.idempotency import (
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyStore,
    aexecute,
    execute,
)
from pytest_opsladder.schedule.clock import ManualClock


def test_fifty_threads_one_key_exactly_one_executes(store: IdempotencyStore) -> None:
    start = threading.Barrier(50)
    executions: list[str] = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def action() -> str:
        with lock:
            executions.append(threading.current_thread().name)
        return "refunded"

    def caller() -> None:
        start.wait()
        try:
            result = execute(store, "refund-1142", {"order": 1142}, action)
        except IdempotencyInProgressError:
            result = "in_progress"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=caller) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(executions) == 1
    assert len(outcomes) == 50
    assert set(outcomes) <= {"refunded", "in_progress"}
    assert execute(store, "refund-1142", {"order": 1142}, action) == "refunded"


_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pytest_opsladder.idempotency import IdempotencyStore, IdempotencyInProgressError, execute
    target, workflow, effects, go = sys.argv[1:5]
    store = IdempotencyStore.open(target, workflow=workflow, lock_expiry=600)
    while not os.path.exists(go):
        time.sleep(0.001)
    def action():
        with open(effects, "a") as f:
            f.write(f"{os.getpid()}\\n")
        return "sent"
    outcomes = []
    for _ in range(25):
        try:
            outcomes.append(execute(store, "invoice-77", {"n": 77}, action))
        except IdempotencyInProgressError:
            outcomes.append("in_progress")
    print(",".join(sorted(set(outcomes))))
    """
)


def test_four_processes_one_key_exactly_one_executes(
    target: str, workflow: str, tmp_path: Path
) -> None:
    effects, go = tmp_path / "effects.txt", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, target, workflow, str(effects), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    assert len(effects.read_text().splitlines()) == 1
    assert all(set(out.split(",")) <= {"sent", "in_progress"} for out in outputs)
    IdempotencyStore.open(target, workflow=workflow).backend.clear(workflow)


def test_asyncio_tasks_one_key_exactly_one_executes(store: IdempotencyStore) -> None:
    executions: list[int] = []

    async def action() -> str:
        executions.append(1)
        for _ in range(5):
            await asyncio.sleep(0)  # let every other task try the key meanwhile
        return "done"

    async def caller() -> str:
        try:
            return str(await aexecute(store, "task-key", {}, action))
        except IdempotencyInProgressError:
            return "in_progress"

    async def main() -> list[str]:
        return await asyncio.gather(*(caller() for _ in range(30)))

    results = asyncio.run(main())
    assert executions == [1]
    assert "in_progress" in results
    assert set(results) == {"done", "in_progress"}


_CRASHER = textwrap.dedent(
    """
    import os, sqlite3, sys
    from pytest_opsladder.idempotency import IdempotencyStore, sqlite_upsert
    target, workflow, world = sys.argv[1:4]
    store = IdempotencyStore.open(target, workflow=workflow, lock_expiry=3600)
    held = store.acquire("ship-9", {"order": 9}, started=False)  # an upsert: safe to repeat
    conn = sqlite3.connect(world, isolation_level=None)
    sqlite_upsert(conn, "shipments", "key", held.key, {"status": "shipped"})
    os._exit(9)  # the crash: the side effect happened, the success record never did
    """
)


def test_a_crash_between_side_effect_and_record_is_recovered_by_upsert(
    target: str, workflow: str, tmp_path: Path
) -> None:
    from pytest_opsladder.idempotency import sqlite_upsert

    world = tmp_path / "world.sqlite"
    conn = __import__("sqlite3").connect(world, isolation_level=None)
    conn.execute("CREATE TABLE shipments (key TEXT PRIMARY KEY, status TEXT)")
    crashed = subprocess.run([sys.executable, "-c", _CRASHER, target, workflow, str(world)])
    assert crashed.returncode == 9

    now = ManualClock(time.time())
    store = IdempotencyStore.open(
        target, workflow=workflow, clock=now, lock_expiry=3600, redis_server_time=False
    )
    with pytest.raises(IdempotencyInProgressError):  # the lock still stands: no blind retry
        store.acquire("ship-9", {"order": 9})
    now.advance(hours=1, seconds=1)
    retry = store.acquire("ship-9", {"order": 9})
    assert retry.took_over
    sqlite_upsert(conn, "shipments", "key", retry.key, {"status": "shipped"})
    retry.complete("shipped")
    assert conn.execute("SELECT key, status FROM shipments").fetchall() == [(retry.key, "shipped")]
    assert store.get("ship-9").takeovers == 1  # type: ignore[union-attr]
    store.backend.clear(workflow)
    assert os.path.exists(world)


def test_a_caller_whose_clock_is_an_hour_ahead_cannot_take_over_a_live_redis_lock(
    redis_server: str, workflow: str
) -> None:
    honest = IdempotencyStore.open(redis_server, workflow=workflow, lock_expiry=60)
    skewed_clock = ManualClock(time.time() + 3600)
    skewed = IdempotencyStore.open(
        redis_server, workflow=workflow, lock_expiry=60, clock=skewed_clock
    )
    held = honest.acquire("payout-5", {"n": 5})
    with pytest.raises(IdempotencyInProgressError):  # the server's clock decides, not the caller's
        skewed.acquire("payout-5", {"n": 5})
    held.complete("paid")
    assert execute(skewed, "payout-5", {"n": 5}, lambda: "paid twice") == "paid"
    honest.backend.clear(workflow)


def test_with_caller_clocks_an_hour_of_skew_is_an_early_takeover(
    target: str, workflow: str
) -> None:
    """Why the Redis default is the server's clock: caller clocks that disagree break leases."""
    base = time.time()
    honest = IdempotencyStore.open(
        target, workflow=workflow, clock=ManualClock(base), redis_server_time=False
    )
    skewed = IdempotencyStore.open(
        target, workflow=workflow, clock=ManualClock(base + 3600), redis_server_time=False
    )
    held = honest.acquire("payout-6", {})
    assert skewed.acquire("payout-6", {}).took_over
    with pytest.raises(IdempotencyLockLostError):
        held.complete("late")
    honest.backend.clear(workflow)
