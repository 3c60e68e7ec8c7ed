"""Shadow mode: re-run a case under a candidate variant, tools replayed from the baseline (L7).

The candidate's model is called for real (or replayed from the candidate's own cassette when one
was recorded); every tool call is answered from the *baseline* cassette and never executed, so
no side effect can happen in shadow mode. A call the baseline never made is a **divergence**:
it is recorded as an event and, by the divergence policy, answered with the result of the
nearest recorded call of the same tool (``nearest``, the default), turned into an error the
agent sees (``error``), or ends the run (``stop``).
"""

from __future__ import annotations

from collections import defaultdict, deque
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture import events as ev
from pytest_opsladder.capture.boundary import ToolBoundary, reraise_recorded
from pytest_opsladder.capture.diff import closest_calls, diff_paths
from pytest_opsladder.capture.jsonable import canonical_json
from pytest_opsladder.capture.run import Run, RunStatus
from pytest_opsladder.capture.scopes import RecordingPlan, enter_run
from pytest_opsladder.capture.tools import tools_schema_hash
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import OpsladderError
from pytest_opsladder.modes import Mode, RecordMode

if TYPE_CHECKING:
    from pytest_opsladder.capture.events import Event
    from pytest_opsladder.capture.tools import ToolSpec

DIVERGENCE = ev.register_event_kind(
    "divergence", "shadow mode: a candidate tool call the baseline never made (not executed)"
)


class DivergencePolicy(StrEnum):
    """What the candidate receives for a tool call the baseline never made."""

    NEAREST = "nearest"
    ERROR = "error"
    STOP = "stop"


class ShadowDivergenceError(OpsladderError):
    """Raised into the candidate agent for a tool call the baseline never made."""

    def __init__(self, tool: str, args: Any) -> None:
        super().__init__(
            f"shadow mode: tool {tool!r} was called with {canonical_json(args)[:160]}, which "
            "the baseline never did; the call was recorded as a divergence and not executed."
        )
        self.tool = tool
        self.call_args = args


class ShadowStopRun(BaseException):
    """Ends a candidate run at its first divergence (policy ``stop``); not an Exception, so
    the agent's own ``except Exception`` cannot swallow it."""


class ShadowBoundary(ToolBoundary):
    """Answers every tool call from the baseline's recorded calls; never executes a tool."""

    def __init__(self, baseline: list[Event], policy: DivergencePolicy) -> None:
        super().__init__()
        self.policy = policy
        self.recorded = [e for e in baseline if e.kind == ev.TOOL_CALL]
        self._exact: dict[tuple[str, str], deque[Event]] = defaultdict(deque)
        for event in self.recorded:
            self._exact[(event.name, canonical_json(event.data.get("args")))].append(event)
        self.divergences = 0

    def call(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        jargs, cid, t0 = self._begin(run, spec, args)
        queue = self._exact.get((spec.name, canonical_json(jargs)))
        if queue:
            return self._answer(run, spec, jargs, queue.popleft().data, t0, cid)
        return self._diverge(run, spec, jargs, t0, cid)

    async def acall(
        self, run: Run, spec: ToolSpec, args: dict[str, Any], a: tuple[Any, ...], kw: dict[str, Any]
    ) -> Any:
        return self.call(run, spec, args, a, kw)

    def _answer(
        self, run: Run, spec: ToolSpec, jargs: Any, data: dict[str, Any], t0: float, cid: str
    ) -> Any:
        self.replayed += 1
        answer = {k: v for k, v in data.items() if k in ("result", "error")}
        self._record(run, spec, {"args": jargs, **answer}, t0, cid)
        if "error" in answer:
            raise reraise_recorded(answer["error"])
        return answer.get("result")

    def _diverge(self, run: Run, spec: ToolSpec, jargs: Any, t0: float, cid: str) -> Any:
        self.divergences += 1
        same = [e for e in self.recorded if e.name == spec.name]
        nearest = _nearest(spec.name, jargs, same)
        run.emit(
            DIVERGENCE,
            spec.name,
            {"args": jargs, "nearest_args": nearest.data.get("args") if nearest else None,
             "policy": self.policy.value, "outbound": spec.outbound},
            call_id=cid,
        )  # fmt: skip
        if self.policy is DivergencePolicy.STOP:
            # The candidate's call is kept, as with ``error``: the first divergence then shows
            # both sides (``args``, ``tool``), not a ``missing_call`` that lost what it asked.
            stop = ShadowStopRun(f"stopped at the first divergence: tool {spec.name!r}")
            self._record(run, spec, {"args": jargs, "error": _error_dict(stop)}, t0, cid)
            raise stop
        if self.policy is DivergencePolicy.NEAREST and nearest is not None:
            return self._answer(run, spec, jargs, nearest.data, t0, cid)
        error = ShadowDivergenceError(spec.name, jargs)
        self._record(run, spec, {"args": jargs, "error": _error_dict(error)}, t0, cid)
        raise error


def _nearest(name: str, jargs: Any, same: list[Event]) -> Event | None:
    if not same:
        return None
    ranked = closest_calls(name, jargs, [(e.name, e.data.get("args")) for e in same], limit=1)
    best = ranked[0]["args"]
    return next(e for e in same if e.data.get("args") == best)


def _error_dict(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)}


def first_divergence(baseline: list[Event], candidate: list[Event]) -> dict[str, Any] | None:
    """The first step where the candidate's tool trajectory departs from the baseline's."""
    base = [e for e in baseline if e.kind == ev.TOOL_CALL]
    cand = [e for e in candidate if e.kind == ev.TOOL_CALL]
    for step in range(max(len(base), len(cand))):
        b = base[step] if step < len(base) else None
        c = cand[step] if step < len(cand) else None
        kind = _step_kind(b, c)
        if kind is not None:
            return {"step": step, "kind": kind, "baseline": _side(b), "candidate": _side(c)}
    return None


def _step_kind(b: Event | None, c: Event | None) -> str | None:
    if b is None:
        return "extra_call"
    if c is None:
        return "missing_call"
    if b.name != c.name:
        return "tool"
    if diff_paths(b.data.get("args"), c.data.get("args")):
        return "args"
    return None


def _side(event: Event | None) -> dict[str, Any] | None:
    return None if event is None else {"tool": event.name, "args": event.data.get("args")}


class ShadowRecorder:
    """Opens a candidate run paired with a recorded baseline run (a context manager)."""

    def __init__(
        self,
        case: Case,
        candidate: Variant,
        baseline: Run,
        candidate_cassette: Path | None,
        *,
        policy: DivergencePolicy = DivergencePolicy.NEAREST,
        record_mode: RecordMode | None = None,
        epoch: int = 0,
        options: dict[str, Any] | None = None,
        use_scopes: bool = True,
    ) -> None:
        self.use_scopes = use_scopes
        self.baseline = baseline
        self.cassette = candidate_cassette
        self.record_mode = record_mode
        self.run = Run(case, candidate, tools_hash=tools_schema_hash(), epoch=epoch)
        self.boundary = ShadowBoundary(baseline.events, policy)
        self.options = dict(options or {})
        self.recorded: Run | None = None
        self._stack = ExitStack()

    def _plan(self) -> RecordingPlan:
        exists = self.cassette is not None and self.cassette.exists()
        if exists and self.record_mode not in (RecordMode.ALL, RecordMode.REWRITE):
            assert self.cassette is not None
            self.recorded = files.load(self.cassette)
        live = self.recorded is None or self.record_mode is RecordMode.NEW_EPISODES
        mode = self.record_mode or RecordMode.NONE
        # Without an explicit record mode nothing is written: the candidate's calls are live.
        options = {**self.options, "shadow_no_write": self.record_mode is None}
        return RecordingPlan(
            Mode.SHADOW, mode, self.cassette, self.recorded is not None, live, options
        )

    def __enter__(self) -> Run:
        plan = self._plan()
        self.run.boundary = self.boundary
        enter_run(self._stack, self.run, self.recorded, plan, scopes=self.use_scopes)
        return self.run

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            self._stack.__exit__(kind, exc, tb)
        finally:
            self._end(exc)
        return isinstance(exc, ShadowStopRun)  # a stopped candidate run is a result, not a crash

    def _end(self, exc: BaseException | None) -> None:
        run = self.run
        if isinstance(exc, ShadowStopRun):
            run.fail(RuntimeError(str(exc)))
        elif exc is not None:
            run.fail(exc)
        elif run.status is RunStatus.INCOMPLETE:
            run.finish(run.output)
        run.extra["divergences"] = self.boundary.divergences
        run.extra["first_divergence"] = first_divergence(self.baseline.events, run.events)
        run.metrics["divergences"] = self.boundary.divergences
        fd = run.extra["first_divergence"]
        run.metrics["first_divergence_step"] = fd["step"] if fd else None
        if self.cassette is not None and self.record_mode is not None and self._writes():
            files.save(run, self.cassette)

    def _writes(self) -> bool:
        if self.run.status is RunStatus.INCOMPLETE:
            return False
        return self.recorded is None or bool(self.run.extra.get("http_new_episodes"))
