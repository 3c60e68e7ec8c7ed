"""Ladder level 0: the current run follows the agent into tasks, threads and thread pools, and
events from many threads stay complete and ordered."""

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


def test_run_follows_into_plain_threads_the_run_starts(tmp_path: Path, patched_pools: None) -> None:
    seen: dict[str, object] = {}

    def note(name: str) -> None:
        seen[name] = current_run()
        square(len(name))

    outside = threading.Thread(target=note, args=("outside",))
    with recording(tmp_path) as run:
        inside = threading.Thread(target=note, args=("inside",))
        timer = threading.Timer(0, note, args=("timer",))
        for thread in (inside, timer):
            thread.start()
            thread.join()
        outside.start()  # made before the run, started inside it: started by the run
        outside.join()
    late = threading.Thread(target=note, args=("late",))
    late.start()
    late.join()
    assert seen == {"inside": run, "timer": run, "outside": run, "late": None}
    assert recorded_args(run) == [5, 6, 7]
    assert "run" not in inside.__dict__  # the thread's own run() again, once it began


def test_threads_of_concurrent_runs_each_carry_their_own_run(
    tmp_path: Path, patched_pools: None
) -> None:
    barrier = threading.Barrier(4)
    seen: dict[str, tuple[object, object]] = {}

    def agent(name: str) -> None:
        recorder = RunRecorder(
            Case(name), Variant("v"), tmp_path / f"{name}.json",
            mode=Mode.RECORD, record_mode=RecordMode.ALL,
        )  # fmt: skip
        with recorder as run:
            barrier.wait()  # every run is active before any starts its thread
            child = threading.Thread(target=lambda: seen.__setitem__(name, (run, current_run())))
            child.start()
            child.join()
            barrier.wait()

    runs = [threading.Thread(target=agent, args=(f"r{i}",)) for i in range(4)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert len(seen) == 4
    assert all(mine is theirs for mine, theirs in seen.values())


def test_pool_workers_a_run_starts_do_not_carry_it_to_later_work(
    tmp_path: Path, patched_pools: None
) -> None:
    """A pool made outside the run and used by it: the worker threads its submits start serve
    the pool's later submitters, which must not find themselves in that run."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        with recording(tmp_path) as run:
            assert [pool.submit(current_run).result() for _ in range(2)] == [run, run]
        assert [f.result() for f in [pool.submit(current_run) for _ in range(4)]] == [None] * 4
        with ContextThreadPoolExecutor(max_workers=1) as explicit:
            with recording(tmp_path):
                explicit.submit(current_run).result()
            assert explicit.submit(current_run).result() is None


def test_stopping_puts_the_stdlib_back() -> None:
    original_start, original_submit = threading.Thread.start, ThreadPoolExecutor.submit
    propagate_to_threads()
    assert threading.Thread.start is not original_start
    stop_propagating_to_threads()
    assert threading.Thread.start is original_start
    assert ThreadPoolExecutor.submit is original_submit
