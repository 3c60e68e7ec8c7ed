"""Carrying the current run into thread pools (ladder levels 0 and 3).

asyncio tasks copy the context by themselves; ``concurrent.futures`` thread pools do not, so a
tool called from ``executor.submit`` would record nowhere. :func:`propagate_to_threads` patches
``ThreadPoolExecutor.submit`` (once, idempotently) to run the callable in a copy of the
submitting context, as OpenTelemetry's threading instrumentation does; loop.run_in_executor goes
through ``submit`` and is covered too. :class:`ContextThreadPoolExecutor` does the same without
patching anything, for code that would rather be explicit.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from pytest_opsladder.capture.run import _CURRENT

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


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        ctx = contextvars.copy_context()
        return _ORIGINAL_SUBMIT(self, ctx.run, fn, *args, **kwargs)  # type: ignore[arg-type]
