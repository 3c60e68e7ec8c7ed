"""Carrying the current run into threads and thread pools (ladder levels 0 and 3).

asyncio tasks copy the context by themselves; threads do not (before Python 3.14's
``sys.flags.thread_inherit_context``), so a model called from ``threading.Thread`` or from
``executor.submit`` would record nowhere. :func:`propagate_to_threads` patches two places (once,
idempotently), as OpenTelemetry's threading instrumentation does:

- ``Thread.start`` called from inside a run starts the thread in a copy of the starter's
  context (Python 3.14's semantics, for the threads a run starts; ``Timer`` and other
  subclasses too). A thread started outside every run is left as the stdlib starts it.
- ``ThreadPoolExecutor.submit`` called from inside a run runs the callable in a copy of the
  submitting context; ``loop.run_in_executor`` goes through ``submit`` and is covered too. The
  pool's worker threads serve whoever submits next, so the ones a submit starts start outside
  the run: a task submitted later from elsewhere never runs in this run's context.

:class:`ContextThreadPoolExecutor` does the second without patching anything, for code that
would rather be explicit. A thread started inside one run keeps that run for its whole life:
a long-lived worker the agent starts lazily in one run and then feeds from other runs (a
``multiprocessing.pool.ThreadPool`` shared between runs) would record their calls into the
first; such workers should be started outside the runs, or get their context per task.

The pytest plugin does not patch at load: :func:`propagate_during_runs` registers a run scope
that installs the patches when the first run starts and removes them when the last one ends, so
a pytest session that never makes a run (or code between runs) sees the untouched stdlib.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pytest_opsladder.capture.run import _CURRENT

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.scopes import RecordingPlan

P = ParamSpec("P")
T = TypeVar("T")

_ORIGINAL_SUBMIT = ThreadPoolExecutor.submit
_ORIGINAL_START = threading.Thread.start
# Python 3.14 started with -X thread_inherit_context=1 (the free-threaded default) does it itself.
_STDLIB_INHERITS = bool(getattr(sys.flags, "thread_inherit_context", 0))
_HAS_CONTEXT_ARG = sys.version_info >= (3, 14)  # Thread(context=...): the caller chose one


def _submit_in_context(
    self: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any, **kwargs: Any
) -> Future[T]:
    if _CURRENT.get() is None:
        return _ORIGINAL_SUBMIT(self, fn, *args, **kwargs)
    return _submit_in(contextvars.copy_context(), self, fn, *args, **kwargs)


def _submit_in(
    ctx: contextvars.Context, pool: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any,
    **kwargs: Any,
) -> Future[T]:  # fmt: skip
    """Submit ``ctx.run(fn, ...)``; a worker thread the submit starts starts in an empty
    context (it outlives this task and serves other submitters)."""
    submit: Any = _ORIGINAL_SUBMIT
    future: Future[T] = contextvars.Context().run(submit, pool, ctx.run, fn, *args, **kwargs)
    return future


def _start_in_context(self: threading.Thread) -> None:
    if _CURRENT.get() is None or (_HAS_CONTEXT_ARG and self.__dict__.get("_context") is not None):
        return _ORIGINAL_START(self)
    had, prior = _run_in_copy(self)
    try:
        _ORIGINAL_START(self)
    except BaseException:  # not started (started twice, no thread left): leave it as it was
        _put_back_run(self, had, prior)
        raise


def _run_in_copy(thread: threading.Thread) -> tuple[bool, Any]:
    """Make the thread's ``run`` execute in a copy of the caller's context; returns what to put
    back. The instance attribute removes itself as the thread begins, so ``thread.run`` is the
    thread's own again (and the context is not kept alive by the thread object after)."""
    ctx = contextvars.copy_context()
    had = "run" in thread.__dict__
    prior = thread.__dict__.get("run")
    run = thread.run

    def run_in_context() -> None:
        _put_back_run(thread, had, prior)
        ctx.run(run)

    thread.run = run_in_context  # type: ignore[method-assign]
    return had, prior


def _put_back_run(thread: threading.Thread, had: bool, prior: Any) -> None:
    if had:
        thread.__dict__["run"] = prior
    else:
        thread.__dict__.pop("run", None)


def propagate_to_threads() -> None:
    """Make threads started, and pool work submitted, from inside a run carry that run."""
    ThreadPoolExecutor.submit = _submit_in_context  # type: ignore[method-assign,assignment]
    if not _STDLIB_INHERITS:
        threading.Thread.start = _start_in_context  # type: ignore[method-assign]


def stop_propagating_to_threads() -> None:
    ThreadPoolExecutor.submit = _ORIGINAL_SUBMIT  # type: ignore[method-assign]
    threading.Thread.start = _ORIGINAL_START  # type: ignore[method-assign]


def _propagating() -> bool:
    return ThreadPoolExecutor.submit is not _ORIGINAL_SUBMIT


_LOCK = threading.Lock()
_STATE = {"sessions": 0, "runs": 0, "installed": 0}  # installed: 1 when the run scope patched


def propagate_during_runs(enabled: bool) -> None:
    """Turn on (or, paired, off again) the patch for the duration of each run.

    Counted, not a flag: a pytester session inside a session must not switch the outer one off.
    """
    from pytest_opsladder.capture.scopes import register_run_scope

    register_run_scope("opsladder.thread_context", _thread_scope)
    with _LOCK:
        _STATE["sessions"] += 1 if enabled else -1
        _STATE["sessions"] = max(_STATE["sessions"], 0)


def _thread_scope(run: Run, recorded: Run | None, plan: RecordingPlan) -> Any:
    return _patched_while_running() if _STATE["sessions"] else None


@contextmanager
def _patched_while_running() -> Iterator[None]:
    """The first active run installs the patches, the last one to end removes them (unless
    someone else had installed them: then they are theirs to keep)."""
    with _LOCK:
        _STATE["runs"] += 1
        if _STATE["runs"] == 1 and not _propagating():
            propagate_to_threads()
            _STATE["installed"] = 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["runs"] -= 1
            if _STATE["runs"] == 0 and _STATE["installed"]:
                stop_propagating_to_threads()
                _STATE["installed"] = 0


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return _submit_in(contextvars.copy_context(), self, fn, *args, **kwargs)
