"""Running candidate runs of a shadow session concurrently (ladder level 7).

The model is the bottleneck of a shadow run, so candidate runs overlap: sync agents in a thread
pool, async agents (coroutine functions, or callables returning awaitables) as tasks on one
event loop, at most ``concurrency`` at a time. Each run executes in its own context, so the
current run never leaks between them, and the HTTP scope's process-wide patches dispatch each
request to the run it comes from.

:func:`run_built` builds each job where it runs (a baseline cassette to load and validate, the
user's build-agent hook: a few ms each, more when the hook writes files), so the first model
call goes out at once and building overlaps the model's latency and other builds, instead of
preceding every run in one thread. The hook is then called from the pool's threads, up to
``concurrency`` at once, like the agents it builds.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_opsladder.drift.errors import PYTEST_OUTCOMES
from pytest_opsladder.drift.shadow import ShadowRecorder, ShadowStopRun
from pytest_opsladder.http.dispatch import held as http_patches_held


@dataclass
class ShadowJob:
    """One candidate run to make: its recorder, the agent and the case input; ``checks``
    evaluates the case's checks on the run before it ends, inside its scope, as a serial
    session's item does (a judge check then grades with the run's judge source)."""

    recorder: ShadowRecorder
    agent: Callable[[Any], Any]
    case_input: Any
    # What a serial item would have raised in its test body or teardown, the run already ended
    # with it (an output a cassette cannot store, a cassette refused for a secret): the item
    # raises it, so the session reports the case as a serial one does, and goes on.
    error: BaseException | None = None
    checks: Callable[[Any], None] | None = None


OnDone = Callable[[ShadowJob], None]
# pytest.skip/fail/xfail called by the agent: a serial item skips, fails or xfails on them
# (they ended the whole session when they escaped the pool). What a job keeps for its item to
# raise: one of them, an error after the agent, or the agent's sys.exit() (a CLI agent's:
# the run is incomplete and the item fails, as serially).
_OUTCOMES: tuple[type[BaseException], ...] = tuple(PYTEST_OUTCOMES.values())
ITEM_RAISES: tuple[type[BaseException], ...] = (Exception, SystemExit, *_OUTCOMES)
T = TypeVar("T")


def _finish(job: ShadowJob, output: Any, exc: BaseException | None) -> None:
    from pytest_opsladder.capture.jsonable import to_jsonable

    run = job.recorder.run
    if exc is not None:  # a stopped run is an error result, not an interrupted one
        run.fail(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
    else:
        run.output = to_jsonable(output, tool="agent output", path="output")


def _run_sync(job: ShadowJob, on_done: OnDone | None = None) -> ShadowJob:
    from pytest_opsladder.capture.agent_call import call_agent

    try:
        with job.recorder as run:
            t0 = run.now()
            try:
                output, exc = call_agent(job.agent, job.case_input), None  # awaits an awaitable
            except (Exception, ShadowStopRun) as error:
                output, exc = None, error
            except _OUTCOMES as outcome:  # the case's result, as in a serial item: the run is
                output, exc, job.error = None, None, outcome  # complete, its checks not run
            _timed(job, t0)
            _finish(job, output, exc)
            if job.checks is not None and job.error is None:
                job.checks(run)
    except ITEM_RAISES as error:  # kept for the item, which raises it (see ShadowJob.error)
        job.error = error
    if on_done is not None:
        on_done(job)
    return job


async def _run_async(
    job: ShadowJob, gate: asyncio.Semaphore, on_done: OnDone | None = None
) -> ShadowJob:
    async with gate:
        await _run_coro(job)
    if on_done is not None:
        on_done(job)
    return job


async def _run_coro(job: ShadowJob, on_done: OnDone | None = None) -> ShadowJob:
    try:
        with job.recorder as run:
            t0 = run.now()
            try:
                output, exc = await job.agent(job.case_input), None
            except (Exception, ShadowStopRun) as error:
                output, exc = None, error
            except _OUTCOMES as outcome:  # as in _run_sync
                output, exc, job.error = None, None, outcome
            _timed(job, t0)
            _finish(job, output, exc)
            if job.checks is not None and job.error is None:  # a live judge call must not
                await asyncio.to_thread(job.checks, run)  # hold the other runs' loop
    except ITEM_RAISES as error:  # kept for the item, which raises it (see ShadowJob.error)
        job.error = error
    if on_done is not None:
        on_done(job)
    return job


def _timed(job: ShadowJob, t0: float) -> None:
    """latency_s is the agent's own duration (the recorder's setup is not the agent's)."""
    from pytest_opsladder.capture.metrics import AGENT_SECONDS

    run = job.recorder.run
    run.extra[AGENT_SECONDS] = round(run.now() - t0, 6)


def is_async_agent(agent: Callable[[Any], Any]) -> bool:
    call = getattr(agent, "__call__", None)  # noqa: B004 - a callable object's own method
    return inspect.iscoroutinefunction(agent) or inspect.iscoroutinefunction(call)


def run_jobs(
    jobs: Sequence[ShadowJob], concurrency: int, on_done: OnDone | None = None
) -> list[ShadowJob]:
    """Run every job, at most ``concurrency`` at once; returns them in the given order.
    ``on_done(job)`` is called as each finishes (progress, in the order they finish)."""
    if not jobs:
        return []
    with http_patches_held():
        return _run_jobs(jobs, concurrency, on_done)


def _run_jobs(
    jobs: Sequence[ShadowJob], concurrency: int, on_done: OnDone | None
) -> list[ShadowJob]:
    if all(is_async_agent(j.agent) for j in jobs):
        return asyncio.run(_gather(jobs, concurrency, on_done))
    lock = threading.Lock()

    def done(job: ShadowJob) -> None:
        if on_done is not None:
            with lock:  # progress lines are written from the pool's threads
                on_done(job)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="opsladder-shadow") as pool:
        futures = [pool.submit(contextvars.Context().run, _run_sync, job, done) for job in jobs]
        return [f.result() for f in futures]


async def _gather(
    jobs: Sequence[ShadowJob], concurrency: int, on_done: OnDone | None
) -> list[ShadowJob]:
    gate = asyncio.Semaphore(concurrency)
    return list(await asyncio.gather(*(_run_async(job, gate, on_done) for job in jobs)))


def run_built(
    sources: Iterable[T],
    build: Callable[[T], ShadowJob | None],
    concurrency: int,
    on_done: OnDone | None = None,
) -> list[tuple[T, ShadowJob]]:
    """Build a job from each source (None: nothing to run for it) where it runs, and run it,
    at most ``concurrency`` at once; returns ``(source, job)`` in the sources' order.

    The first job is built here: its agent decides the runner. A coroutine agent runs its
    jobs as tasks on one event loop (each later job built in a thread, a sync agent among them
    run in one, under the same limit); any other agent runs its jobs in a thread pool whose
    threads build them too (an async agent there runs on its thread's loop). vcrpy's and our
    HTTP patches stay in for the whole batch, not installed again for each run."""
    rest = iter(sources)
    first = _next_built(rest, build)
    if first is None:
        return []
    with http_patches_held():
        return _run_built(first, rest, build, concurrency, on_done)


def _run_built(
    first: tuple[T, ShadowJob],
    rest: Iterator[T],
    build: Callable[[T], ShadowJob | None],
    concurrency: int,
    on_done: OnDone | None,
) -> list[tuple[T, ShadowJob]]:
    lock = threading.Lock()

    def done(job: ShadowJob) -> None:
        if on_done is not None:
            with lock:  # progress lines are written from the pool's threads
                on_done(job)

    if is_async_agent(first[1].agent):
        return asyncio.run(_gather_built(first, list(rest), build, concurrency, done))

    def build_and_run(source: T) -> ShadowJob | None:
        job = build(source)
        return None if job is None else _run_sync(job, done)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="opsladder-shadow") as pool:
        head = pool.submit(contextvars.Context().run, _run_sync, first[1], done)
        tail = [(source, pool.submit(contextvars.Context().run, build_and_run, source))
                for source in rest]  # fmt: skip
        built = [(first[0], head.result())]
        built += [(source, job) for source, future in tail if (job := future.result()) is not None]
    return built


def _next_built(
    sources: Iterator[T], build: Callable[[T], ShadowJob | None]
) -> tuple[T, ShadowJob] | None:
    for source in sources:
        job = build(source)
        if job is not None:
            return source, job
    return None


async def _gather_built(
    first: tuple[T, ShadowJob],
    rest: list[T],
    build: Callable[[T], ShadowJob | None],
    concurrency: int,
    done: OnDone,
) -> list[tuple[T, ShadowJob]]:
    gate = asyncio.Semaphore(concurrency)

    async def build_and_run(source: T, job: ShadowJob | None) -> tuple[T, ShadowJob | None]:
        async with gate:
            if job is None:
                job = await asyncio.to_thread(build, source)
            if job is None:
                pass
            elif is_async_agent(job.agent):
                await _run_coro(job, done)
            else:  # a sync agent among async ones: in a thread, in its own context
                await asyncio.to_thread(contextvars.Context().run, _run_sync, job, done)
        return source, job

    runs = [build_and_run(*first), *(build_and_run(source, None) for source in rest)]
    return [(source, job) for source, job in await asyncio.gather(*runs) if job is not None]
