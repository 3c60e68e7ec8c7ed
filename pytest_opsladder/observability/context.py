"""Step context (ladder level 3): which step of the agent a piece of work belongs to.

The run itself is a context variable (see :mod:`pytest_opsladder.capture.run`), so it already
follows work into asyncio tasks and, with ``propagate_to_threads`` (on by default under
pytest), into ``ThreadPoolExecutor`` workers. :func:`step` adds a second context variable, the
current step, with a span id and its parent's, so children of a step (tasks, pool workers) know
where they are, and every step is recorded as a ``step`` event with its timing.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.run import current_run

STEP = register_event_kind("step", "a named step of the agent (path, span id, parent span id)")


@dataclass(frozen=True)
class StepContext:
    """Where work is: the step path (``plan/search``) and span ids."""

    path: str
    span_id: str
    parent_span_id: str | None


_STEP: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "opsladder_step", default=None
)


def current_step() -> StepContext | None:
    return _STEP.get()


def current_context() -> dict[str, Any]:
    """The run id and step of the calling code: what a log line or a child task should carry."""
    run, st = current_run(), _STEP.get()
    return {
        "run_id": run.run_id if run else None,
        "step": st.path if st else None,
        "span_id": st.span_id if st else None,
    }


@contextmanager
def step(name: str) -> Iterator[StepContext]:
    """Run the block as step ``name`` (nested steps make a path); recorded as a ``step`` event."""
    parent = _STEP.get()
    ctx = StepContext(
        f"{parent.path}/{name}" if parent else name,
        uuid.uuid4().hex[:16],
        parent.span_id if parent else None,
    )
    token = _STEP.set(ctx)
    run = current_run()
    t0 = run.now() if run else 0.0
    try:
        yield ctx
    finally:
        _STEP.reset(token)
        if run is not None:
            data = {"path": ctx.path, "span_id": ctx.span_id, "parent_span_id": ctx.parent_span_id}
            run.emit(STEP, name, data, t_start=t0)
