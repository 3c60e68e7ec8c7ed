"""Ladder level 0: the current run follows the agent into tasks and thread pools, and events from
many threads stay complete and ordered."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pytest_opsladder import (
    Case,
    ContextThreadPoolExecutor,
    Mode,
    RecordMode,
    RunRecorder,
    Variant,
    current_run,
    propagate_to_threads,
    tool,
)
from pytest_opsladder.capture.context import stop_propagating_to_threads


@tool(name="ctx_square")
def square(x: int) -> int:
    return x * x


@tool(name="ctx_asquare")
async def asquare(x: int) -> int:
    await asyncio.sleep(0)
    return x * x


def recording(tmp_path: Path) -> RunRecorder:
    return RunRecorder(
        Case("ctx"), Variant("v"), tmp_path / "c.json", mode=Mode.RECORD, record_mode=RecordMode.ALL
    )


@pytest.fixture
def patched_pools() -> Iterator[None]:
    """The patch a user installs for good; removed after, so no other test inherits it."""
    propagate_to_threads()
    yield
    stop_propagating_to_threads()


def recorded_args(run: object) -> list[int]:
    return sorted(e.data["args"]["x"] for e in run.events_of("tool_call"))  # type: ignore[attr-defined]


def test_run_follows_into_asyncio_tasks(tmp_path: Path) -> None:
    async def agent() -> list[int]:
        return list(await asyncio.gather(*(asquare(i) for i in range(5)), square_in_task()))

    async def square_in_task() -> int:
        return await asyncio.create_task(asyncio.to_thread(square, 9))

    with recording(tmp_path) as run:
        assert asyncio.run(agent()) == [0, 1, 4, 9, 16, 81]
    assert recorded_args(run) == [0, 1, 2, 3, 4, 9]


def test_run_follows_into_patched_thread_pool_workers(tmp_path: Path, patched_pools: None) -> None:
    with recording(tmp_path) as run, ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(square, range(6))) == [0, 1, 4, 9, 16, 25]
        assert pool.submit(current_run).result() is run
    assert recorded_args(run) == [0, 1, 2, 3, 4, 5]


def test_thread_pool_outside_a_run_sees_no_run(patched_pools: None) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(current_run).result() is None


def test_run_follows_into_loop_run_in_executor(tmp_path: Path, patched_pools: None) -> None:
    async def agent() -> int:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=2) as pool:
            a = await loop.run_in_executor(pool, square, 3)
        b = await loop.run_in_executor(None, square, 4)  # the loop's default executor
        return a + b

    with recording(tmp_path) as run:
        assert asyncio.run(agent()) == 25
    assert recorded_args(run) == [3, 4]


def test_context_thread_pool_executor_needs_no_patch(tmp_path: Path) -> None:
    with recording(tmp_path) as run, ContextThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(square, i) for i in range(4)]
        assert [f.result() for f in futures] == [0, 1, 4, 9]
    assert recorded_args(run) == [0, 1, 2, 3]


def test_concurrent_events_are_all_kept_with_unique_ordered_seqs(tmp_path: Path) -> None:
    threads, per_thread = 8, 150
    barrier = threading.Barrier(threads)

    def worker(offset: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            square(offset * 1000 + i)

    with recording(tmp_path) as run, ContextThreadPoolExecutor(max_workers=threads) as pool:
        for f in [pool.submit(worker, t) for t in range(threads)]:
            f.result()
    calls = run.events_of("tool_call")
    assert len(calls) == threads * per_thread
    assert [e.seq for e in run.events] == list(range(len(run.events)))
    assert len({e.call_id for e in calls}) == len(calls)
    # within one thread, calls appear in the order that thread made them
    for t in range(threads):
        mine = [e.data["args"]["x"] for e in calls if e.data["args"]["x"] // 1000 == t]
        assert mine == [t * 1000 + i for i in range(per_thread)]
    reloaded = RunRecorder(Case("ctx"), Variant("v"), tmp_path / "c.json", mode=Mode.REPLAY)
    with reloaded:
        pass
    assert reloaded.recorded is not None
    assert len(reloaded.recorded.events_of("tool_call")) == threads * per_thread
