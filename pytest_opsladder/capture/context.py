"""Carrying the current run into thread pools (ladder levels 0 and 3).

asyncio tasks copy the context by themselves; ``concurrent.futures`` thread pools do not, so a
tool called from ``executor.submit`` would record nowhere. :func:`propagate_to_threads` patches
``ThreadPoolExecutor.submit`` (once, idempotently) to run the callable in a copy of the
submitting context, as OpenTelemetry's threading instrumentation does; loop.run_in_executor goes
through ``submit`` and is covered too. :class:`ContextThreadPoolExecutor` does the same without
patching anything, for code that would rather be explicit.

The pytest plugin does not patch at load: :func:`propagate_during_runs` registers a run scope
that installs the patch when the first run starts and removes it when the last one ends, so a
pytest session that never makes a run (or code between runs) sees the untouched ``submit``.
"""

from __future__ import annotations

import contextvars
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


def _submit_in_context(
    self: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any, **kwargs: Any
) -> Future[T]:
    if _CURRENT.get() is None:
        return _ORIGINAL_SUBMIT(self, fn, *args, **kwargs)
    ctx = contextvars.copy_context()
    return _ORIGINAL_SUBMIT(self, ctx.run, fn, *args, **kwargs)


def propagate_to_threads() -> None:
    """Make every ThreadPoolExecutor carry the submitting code's run into its worker."""
    ThreadPoolExecutor.submit = _submit_in_context  # type: ignore[method-assign,assignment]


def stop_propagating_to_threads() -> None:
    ThreadPoolExecutor.submit = _ORIGINAL_SUBMIT  # type: ignore[method-assign]


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
    """The first active run installs the patch, the last one to end removes it (unless someone
    else had installed it: then it is theirs to keep)."""
    with _LOCK:
        _STATE["runs"] += 1
        if _STATE["runs"] == 1 and ThreadPoolExecutor.submit is _ORIGINAL_SUBMIT:
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
        ctx = contextvars.copy_context()
        return _ORIGINAL_SUBMIT(self, ctx.run, fn, *args, **kwargs)  # type: ignore[arg-type]
