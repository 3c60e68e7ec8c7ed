"""Where a run's judge calls come from: the recording, or the judge model (ladder level 7).

A run scope (entered around every run, like the HTTP recorder) tells the judge what the run
replays from and whether it may call out:

- ``replay`` mode: recorded judge calls only; a missing or stale one is an error, never live;
- ``record`` mode: a recorded call is reused when the same request was recorded, else live;
- ``shadow`` mode: the candidate's judge calls are replayed from the candidate's own cassette,
  and live only with ``--opsladder-judge=live`` (which grades every candidate call afresh);
- outside pytest (``capture()`` in production) and outside any run: live.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pytest_opsladder.capture.events import register_event_kind
from pytest_opsladder.capture.scopes import RecordingPlan, register_run_scope
from pytest_opsladder.modes import Mode

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_opsladder.capture.run import Run

JUDGE = register_event_kind(
    "judge", "a model-graded check (rubric hash, judge model, request, reply, score, reason)"
)


# extra key: the recorded judge calls a new_episodes re-record did not make; still replayable
KEPT = "judge_kept_calls"


class JudgeMode(StrEnum):
    """``--opsladder-judge``: how shadow mode grades the candidate."""

    REPLAY = "replay"
    LIVE = "live"


_SESSION = {"mode": JudgeMode.REPLAY}


def set_judge_mode(mode: JudgeMode) -> None:
    _SESSION["mode"] = mode


@dataclass
class JudgeSource:
    """What the judge of one run may use: recorded calls, and whether it may call out."""

    recorded: list[dict[str, Any]] = field(default_factory=list)
    live: bool = True
    force_live: bool = False
    mode: str = "live"
    used: set[int] = field(default_factory=set)
    read_only: bool = False  # a finished recording: grades are read from it, never added
    live_calls: int = 0

    def unused(self) -> list[dict[str, Any]]:
        """The recorded calls with a reply that this run did not replay (a changed rubric's)."""
        return [d for i, d in enumerate(self.recorded) if i not in self.used and answered(d)]


def answered(data: dict[str, Any]) -> bool:
    """Whether a recorded judge call holds the judge's reply (a failed call has none)."""
    response = data.get("response")
    return isinstance(response, dict) and isinstance(response.get("text"), str)


_SOURCES: dict[int, JudgeSource] = {}
_LOCK = threading.Lock()


def source_for(run: Run | None) -> JudgeSource:
    """The judge source of ``run``: its scope's while it runs; a finished run outside any
    scope is a recording (a baseline re-checked in shadow mode), graded only from its own
    recorded judge calls; no run at all: live, nothing recorded."""
    with _LOCK:
        found = _SOURCES.get(id(run)) if run is not None else None
    if found is not None:
        return found
    if run is not None and run.manifest.get("ended_at"):
        events = [dict(e.data) for e in run.events_of(JUDGE)]
        return JudgeSource(events, live=False, mode="recorded", read_only=True)
    return JudgeSource()


def _source(recorded: Run | None, plan: RecordingPlan) -> JudgeSource:
    events = [dict(e.data) for e in recorded.events_of(JUDGE)] if recorded is not None else []
    kept = recorded.extra.get(KEPT) if recorded is not None else None
    events += [dict(d) for d in kept if isinstance(d, dict)] if isinstance(kept, list) else []
    if plan.mode is Mode.SHADOW:
        live = _SESSION["mode"] is JudgeMode.LIVE
        return JudgeSource(events, live=live, force_live=live, mode="shadow")
    return JudgeSource(events, live=plan.live, mode=plan.mode.value)


@contextmanager
def _judge_scope(run: Run, recorded: Run | None, plan: RecordingPlan) -> Iterator[None]:
    source = _source(recorded, plan)
    with _LOCK:
        _SOURCES[id(run)] = source
    try:
        yield
    finally:
        with _LOCK:
            _SOURCES.pop(id(run), None)
        if recorded is not None and plan.live:
            _keep_new_episodes(run, source)


def _keep_new_episodes(run: Run, source: JudgeSource) -> None:
    """``new_episodes``: a judge call made live is new, so the cassette is rewritten (the flag
    the recorder reads for any new call); the recorded calls not replayed are kept with it,
    under ``extra``, not among the run's events: they are not this run's grades."""
    if source.live_calls:
        run.extra["http_new_episodes"] = True
    unused = source.unused()
    if unused:
        run.extra[KEPT] = unused


register_run_scope("judge", _judge_scope)
