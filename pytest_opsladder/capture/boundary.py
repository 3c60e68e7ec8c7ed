"""The tool boundary: where every wrapped tool call is checked, executed or replayed.

Ladder level 0 records here; later rungs plug in without editing this module:
:func:`register_tool_guard` adds a check that runs before any tool executes or replays (a
guardrail policy, the global pause, a rate limiter, a circuit breaker). A guard blocks a call by
raising. Guards run in every mode, so a guardrail stays enforced in replay and shadow.
"""

from __future__ import annotations

import itertools
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.diff import closest_calls, format_closest
from pytest_opsladder.capture.jsonable import canonical_json, to_jsonable
from pytest_opsladder.capture.recorded_errors import error_record, reraise_recorded
from pytest_opsladder.exceptions import ToolReplayMissError
from pytest_opsladder.secrets import remember

if TYPE_CHECKING:
    from pytest_opsladder.capture.events import Event
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec

__all__ = [
    "ReplayBoundary",
    "ToolBoundary",
    "ToolGuard",
    "error_record",
    "register_tool_guard",
    "reraise_recorded",
]

ToolGuard = Callable[["Run", "ToolSpec", dict[str, Any]], None]
_GUARDS: list[ToolGuard] = []


def register_tool_guard(guard: ToolGuard) -> Callable[[], None]:
    """Run ``guard(run, spec, args)`` before every tool call; returns a function that removes it."""
    _GUARDS.append(guard)
    return lambda: _GUARDS.remove(guard) if guard in _GUARDS else None


class ToolBoundary:
    """Records live calls. Subclasses replay instead of executing."""

    def __init__(self) -> None:
        self.guards: list[ToolGuard] = []
        self._ids = itertools.count(1)
        self.executed = 0
        self.replayed = 0

    def _check(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> None:
        for guard in _GUARDS:
            guard(run, spec, args)
        for guard in self.guards:
            guard(run, spec, args)

    def _begin(self, run: Run, spec: ToolSpec, args: dict[str, Any]) -> tuple[Any, str, float]:
        jargs = to_jsonable(args, tool=spec.name, path="$")
        self._check(run, spec, args)
        return jargs, f"call_{next(self._ids)}", run.now()

    def _record(self, run: Run, spec: ToolSpec, data: dict[str, Any], t0: float, cid: str) -> None:
        run.emit(ev.TOOL_CALL, spec.name, data, t_start=t0, call_id=cid)
        remember(data)  # scanned for credentials now; the cassette write reuses the result

    def call(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        jargs, cid, t0 = self._begin(run, spec, args)
        return self._execute(run, spec, jargs, cid, t0, lambda: spec.fn(*a, **kw))

    async def acall(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        jargs, cid, t0 = self._begin(run, spec, args)
        return await _run_coro(self, run, spec, jargs, cid, t0, lambda: spec.fn(*a, **kw))

    def _execute(
        self, run: Run, spec: ToolSpec, jargs: Any, cid: str, t0: float, fn: Callable[[], Any]
    ) -> Any:
        self.executed += 1
        try:
            result = fn()
        except BaseException as exc:
            self._record(run, spec, {"args": jargs, "error": error_record(exc)}, t0, cid)
            raise
        return self._stored(run, spec, jargs, result, t0, cid)

    def _stored(
        self, run: Run, spec: ToolSpec, jargs: Any, result: Any, t0: float, cid: str
    ) -> Any:
        try:
            jresult = to_jsonable(result, tool=spec.name, path="result")
        except BaseException as exc:
            self._record(run, spec, {"args": jargs, "error": error_record(exc)}, t0, cid)
            raise
        self._record(run, spec, {"args": jargs, "result": jresult}, t0, cid)
        return result


class ReplayBoundary(ToolBoundary):
    """Returns what the cassette recorded; never executes a tool.

    Calls are matched by tool name and canonical arguments; the n-th identical call gets the
    n-th recorded result. With ``fallthrough`` (record mode ``new_episodes``) a call that was
    never recorded runs live and is recorded; otherwise it is a :class:`ToolReplayMissError`.
    """

    def __init__(self, recorded: list[Event], *, fallthrough: bool = False) -> None:
        super().__init__()
        self.fallthrough = fallthrough
        self.recorded = [e for e in recorded if e.kind == ev.TOOL_CALL]
        self._index: dict[tuple[str, str], deque[Event]] = defaultdict(deque)
        for event in self.recorded:
            key = (event.name, canonical_json(event.data.get("args")))
            self._index[key].append(event)

    def _take(self, spec: ToolSpec, jargs: Any) -> Event | None:
        queue = self._index.get((spec.name, canonical_json(jargs)))
        return queue.popleft() if queue else None

    def call(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        jargs, cid, t0 = self._begin(run, spec, args)
        event = self._take(spec, jargs)
        if event is None:
            if self.fallthrough:
                return self._execute(run, spec, jargs, cid, t0, lambda: spec.fn(*a, **kw))
            raise self.miss(spec, jargs)
        return self._replay(run, spec, event, t0, cid)

    async def acall(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        jargs, cid, t0 = self._begin(run, spec, args)
        event = self._take(spec, jargs)
        if event is None:
            if self.fallthrough:
                return await _run_coro(self, run, spec, jargs, cid, t0, lambda: spec.fn(*a, **kw))
            raise self.miss(spec, jargs)
        return self._replay(run, spec, event, t0, cid)

    def _replay(self, run: Run, spec: ToolSpec, event: Event, t0: float, cid: str) -> Any:
        self.replayed += 1
        self._record(run, spec, dict(event.data), t0, cid)
        if "error" in event.data:
            raise reraise_recorded(event.data["error"])
        return event.data.get("result")

    def miss(self, spec: ToolSpec, jargs: Any) -> ToolReplayMissError:
        candidates = [(e.name, e.data.get("args")) for e in self.recorded]
        closest = closest_calls(spec.name, jargs, candidates)
        same = sum(1 for e in self.recorded if e.name == spec.name)
        return ToolReplayMissError(
            f"tool {spec.name!r} was called with {canonical_json(jargs)[:200]}, which this "
            f"cassette never recorded ({same} recorded call(s) of {spec.name!r}, "
            f"{len(self.recorded)} tool calls in all).\n{format_closest(closest)}\n"
            "If the agent's behaviour changed on purpose, re-record this case: "
            "pytest --opsladder-mode=record --opsladder-record-mode=rewrite -k <test>",
            tool=spec.name,
            args=jargs,
            closest=closest,
        )


async def _run_coro(
    boundary: ToolBoundary,
    run: Run,
    spec: ToolSpec,
    jargs: Any,
    cid: str,
    t0: float,
    make: Callable[[], Awaitable[Any]],
) -> Any:
    boundary.executed += 1
    try:
        result = await make()
    except BaseException as exc:
        boundary._record(run, spec, {"args": jargs, "error": error_record(exc)}, t0, cid)
        raise
    return boundary._stored(run, spec, jargs, result, t0, cid)
