"""The global pause guards every live run by default (ladder level 6).

A kill switch that each team must remember to wire in is not one. This run scope adds a pause
check to the tool boundary of every run that can reach the outside world (record mode,
production ``capture()``); replay and shadow runs execute no side effects, so they are left
alone. The state file is ``$OPSLADDER_PAUSE_FILE`` (default ``.opsladder/pause.json``);
``OPSLADDER_PAUSE_GUARD=off`` turns the default guard off (a :class:`BlastRadius` you install
still checks its own switch).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder.blast_radius.pause import PauseSwitch, default_pause_path
from pytest_opsladder.capture.scopes import RecordingPlan, register_run_scope

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run
    from pytest_opsladder.capture.tools import ToolSpec

ENV_PAUSE_GUARD = "OPSLADDER_PAUSE_GUARD"
_SWITCHES: dict[Path, PauseSwitch] = {}  # one per path: keeps the check syscall-free


def _switch() -> PauseSwitch:
    path = default_pause_path().absolute()
    return _SWITCHES.get(path) or _SWITCHES.setdefault(path, PauseSwitch(path))


def _pause_guard(switch: PauseSwitch) -> Any:
    def guard(run: Run, spec: ToolSpec, args: dict[str, Any]) -> None:
        if spec.outbound and switch.state().paused:
            switch.check(f"tool {spec.name!r}")

    return guard


@contextmanager
def _guarded(run: Run) -> Iterator[None]:
    guard = _pause_guard(_switch())
    guards = run.boundary.guards if run.boundary is not None else None
    if guards is not None:
        guards.append(guard)
    try:
        yield
    finally:
        if guards is not None and guard in guards:
            guards.remove(guard)


def pause_scope(
    run: Run, recorded: Run | None, plan: RecordingPlan
) -> AbstractContextManager[None] | None:
    """The run scope: guard live runs unless ``OPSLADDER_PAUSE_GUARD=off``."""
    if not plan.live or os.environ.get(ENV_PAUSE_GUARD, "on").lower() == "off":
        return None
    return _guarded(run)


register_run_scope("opsladder.pause", pause_scope)
