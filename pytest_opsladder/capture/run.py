"""The Run: the one record every rung of the ladder writes into (ladder level 0).

Agent code runs inside a run; the current run is a context variable, so it follows the agent
into asyncio tasks, into thread pools (see :mod:`pytest_opsladder.capture.context`) and through
every wrapped tool. Each rung emits events into it; a finished run is persisted as a cassette.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import itertools
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.events import Event, check_event_kind
from pytest_opsladder.capture.jsonable import storable
from pytest_opsladder.capture.manifest import base_manifest
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.exceptions import NoActiveRunError

if TYPE_CHECKING:
    from pytest_opsladder.capture.boundary import ToolBoundary


# What a run derives when it ends (the tools' schema hash, the metrics), registered by the
# modules that compute it (capture.tools, capture.metrics): the record stays at the bottom of
# the import graph and imports neither. capture/__init__.py imports both, so every import of
# this module (which runs the package first) has them registered.
END_STEPS: list[Callable[[Run], None]] = []


def on_run_end(step: Callable[[Run], None]) -> Callable[[Run], None]:
    """Register ``step(run)`` to run, in registration order, when any run ends."""
    END_STEPS.append(step)
    return step


class RunStatus(StrEnum):
    """How a run ended. ``incomplete`` is the state of a run until it ends cleanly."""

    COMPLETE = "complete"
    ERROR = "error"
    INCOMPLETE = "incomplete"


def stopped_by_test(exc: BaseException) -> bool:
    """``exc`` is one of pytest's outcomes (``pytest.skip``, ``xfail``, ``fail``, ``exit``): the
    test stopped the run; the agent neither finished nor failed. Read from the class's module,
    so production code, which may run without pytest loaded, imports nothing for it."""
    return any(cls.__module__ == "_pytest.outcomes" for cls in type(exc).__mro__)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Run:
    """One execution of the agent on one case under one variant."""

    def __init__(
        self,
        case: Case,
        variant: Variant,
        *,
        run_id: str | None = None,
        clock: Callable[[], float] = time.perf_counter,
        tools_hash: str | None = None,
        epoch: int = 0,
    ) -> None:
        self.case = case
        self.variant = variant
        self.epoch = epoch
        self.run_id = run_id or uuid.uuid4().hex
        self.clock = clock
        self.tools_hash = tools_hash
        self.manifest: dict[str, Any] = base_manifest(self.run_id, utc_now())
        self.events: list[Event] = []
        self.http: list[dict[str, Any]] = []
        self.output: Any = None
        self.status = RunStatus.INCOMPLETE
        self.error: dict[str, Any] | None = None
        self.metrics: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}
        self.boundary: ToolBoundary | None = None
        self.stopped_in_agent = False  # a pytest outcome left the agent's call (not saved)
        self._t0 = clock()
        self._seq = itertools.count()
        self._lock = threading.Lock()

    # -- writing events -------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the run started, on the run's clock."""
        return self.clock() - self._t0

    def emit(
        self,
        kind: str,
        name: str = "",
        data: dict[str, Any] | None = None,
        *,
        t_start: float | None = None,
        t_end: float | None = None,
        call_id: str | None = None,
    ) -> Event:
        """Append an event; times default to now. Safe from threads and tasks."""
        check_event_kind(kind)
        now = self.now()
        with self._lock:
            event = Event(
                next(self._seq),
                kind,
                name,
                now if t_start is None else t_start,
                now if t_end is None else t_end,
                data if data is not None else {},
                call_id,
            )
            self.events.append(event)
        return event

    def events_of(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    # -- ending ---------------------------------------------------------------------------
    def finish(self, output: Any = None) -> None:
        """Mark the run complete with its output."""
        self.output = output
        self._end(RunStatus.COMPLETE)

    def fail(self, exc: BaseException) -> None:
        """Mark the run ended by ``exc``: ``error`` for an Exception, ``incomplete`` for an
        interruption (a BaseException, or a pytest outcome such as ``pytest.skip``)."""
        self.error = {
            "type": type(exc).__name__,
            "module": type(exc).__module__,
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)[-6:]),
        }
        interrupted = not isinstance(exc, Exception) or stopped_by_test(exc)
        self._end(RunStatus.INCOMPLETE if interrupted else RunStatus.ERROR)

    def _end(self, status: RunStatus) -> None:
        self.status = status
        self.manifest["ended_at"] = utc_now()
        self.manifest["duration_s"] = round(self.now(), 6)
        for step in END_STEPS:
            step(self)

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "case": {"id": self.case.id, "input": storable(self.case.input, "case.input")},
            "variant": self.variant.to_dict(self.tools_hash),
            "epoch": self.epoch,
            "manifest": self.manifest,
            "events": [e.to_dict() for e in self.events],
            "http": self.http,
            "output": storable(self.output, "output"),
            "status": self.status.value,
            "error": self.error,
            "metrics": self.metrics,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Run:
        case = raw["case"]
        var = raw["variant"]
        run = cls(
            Case(str(case["id"]), case.get("input")),
            Variant(
                var["name"], var.get("model"), var.get("prompt"), dict(var.get("params") or {})
            ),
            run_id=raw["manifest"]["run_id"],
            tools_hash=var.get("tools_hash"),
            epoch=int(raw.get("epoch", 0)),
        )
        run.manifest = dict(raw["manifest"])
        run.events = [Event.from_dict(e) for e in raw.get("events", [])]
        run.http = list(raw.get("http") or [])
        run.output = raw.get("output")
        run.status = RunStatus(raw["status"])
        run.error = raw.get("error")
        run.metrics = dict(raw.get("metrics") or {})
        run.extra = dict(raw.get("extra") or {})
        return run

    def __repr__(self) -> str:
        return (
            f"<Run {self.run_id[:8]} case={self.case.id!r} variant={self.variant.name!r} "
            f"status={self.status.value} events={len(self.events)}>"
        )


_CURRENT: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "opsladder_current_run", default=None
)


def current_run() -> Run | None:
    """The run the calling code executes in, or None outside any run."""
    return _CURRENT.get()


def require_run() -> Run:
    """The current run; raises :class:`NoActiveRunError` outside one."""
    run = _CURRENT.get()
    if run is None:
        raise NoActiveRunError(
            "no opsladder run is active here. Inside pytest, request the `opsladder_run` "
            "fixture (or mark the test with @pytest.mark.opsladder); in production wrap the "
            "agent call in `with pytest_opsladder.capture(...)`."
        )
    return run


@contextmanager
def activate(run: Run) -> Iterator[Run]:
    """Make ``run`` the current run for the duration of the block."""
    token = _CURRENT.set(run)
    try:
        yield run
    finally:
        _CURRENT.reset(token)


def emit(kind: str, name: str = "", data: dict[str, Any] | None = None, **kw: Any) -> Event | None:
    """Emit into the current run if there is one; a no-op (returns None) outside a run."""
    run = _CURRENT.get()
    if run is None:
        return None
    return run.emit(kind, name, data, **kw)
