"""Calling the user's agent: sync or async, timed on the run's clock (ladder levels 0 and 7).

An agent is a callable from case input to output; it may be a coroutine function or return an
awaitable (an async framework's ``run``). :func:`call_agent` awaits it: in the running event
loop's caller when one is running (an async test awaits the returned coroutine itself), else
on one loop the plugin keeps per thread, so async clients built once keep working across
calls. The time the agent ran is added to the run, so ``latency_s`` is the agent's duration,
not fixture setup.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_opsladder.capture.run import Run, current_run, stopped_by_test

AGENT_CALLS_S = "agent_calls_s"  # run.extra: seconds spent inside the agent, summed over calls
_LOOPS = threading.local()
_MADE: list[asyncio.AbstractEventLoop] = []  # every thread's loop, closed at the session's end
_MADE_LOCK = threading.Lock()


def plugin_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop for async agents (made on first use, reused after)."""
    loop: asyncio.AbstractEventLoop | None = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOOPS.loop = asyncio.new_event_loop()
        with _MADE_LOCK:
            _MADE.append(loop)
    return loop


def close_plugin_loops() -> None:
    """Close every loop :func:`plugin_loop` made, as ``asyncio.run`` closes its own: tasks
    left behind cancelled, async generators closed, the default executor shut down. Called
    when the pytest session ends; a loop made after that is made anew."""
    with _MADE_LOCK:
        loops, _MADE[:] = list(_MADE), []
    for loop in loops:
        if not loop.is_closed() and not loop.is_running():
            _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def add_agent_time(run: Run | None, seconds: float) -> None:
    if run is not None:
        run.extra[AGENT_CALLS_S] = round(run.extra.get(AGENT_CALLS_S, 0.0) + seconds, 6)


def call_agent(agent: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``agent``; an awaitable result is awaited (see the module docstring)."""
    run = current_run()
    t0 = run.now() if run is not None else 0.0
    try:
        result = agent(*args, **kwargs)
        if inspect.isawaitable(result):
            if _in_running_loop():
                return _timed(result, run, t0)
            result = plugin_loop().run_until_complete(_await(result))
    except BaseException as exc:
        note_stopped_agent(run, exc)
        raise
    if run is not None:
        add_agent_time(run, run.now() - t0)
    return result


def note_stopped_agent(run: Run | None, exc: BaseException) -> None:
    """A pytest outcome (``pytest.skip`` ...) left the agent: the test stopped it part-way, so
    the run is ``incomplete`` even if an earlier call of the agent returned."""
    if run is not None and stopped_by_test(exc):
        run.stopped_in_agent = True


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _timed(awaitable: Awaitable[Any], run: Run | None, t0: float) -> Any:
    try:
        return await awaitable
    except BaseException as exc:
        note_stopped_agent(run, exc)
        raise
    finally:
        if run is not None:
            add_agent_time(run, run.now() - t0)


class OpsladderAgent:
    """The ``opsladder_agent`` fixture's value, wrapped: awaited when async, and timed.

    Attribute access goes to the user's agent, so ``opsladder_agent.cms`` still works.
    """

    def __init__(self, agent: Callable[..., Any]) -> None:
        self.__wrapped__ = agent

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return call_agent(self.__wrapped__, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__wrapped__, name)

    def __repr__(self) -> str:
        return f"<opsladder agent {self.__wrapped__!r}>"
