"""Run scopes: context managers entered around every run (ladder levels 0 and up).

A rung that must be active while the agent runs (HTTP recording, an exporter, an input filter)
registers a factory here instead of editing the recorder. Each factory receives the run being
made, the recorded run it replays from (or None), and the recording plan, and returns a context
manager, or None to stay out of this run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_opsladder._modules import module_available
from pytest_opsladder.modes import Mode, RecordMode

if TYPE_CHECKING:
    from pytest_opsladder.capture.run import Run


@dataclass(frozen=True)
class RecordingPlan:
    """What a run does with the outside world, decided once before it starts."""

    mode: Mode
    record_mode: RecordMode
    cassette: Path | None
    replaying: bool  # results come from a recorded run
    live: bool  # calls not found in the recording may go out for real
    options: dict[str, Any] = field(default_factory=dict)
    # The writer masks every credential itself (the production run store): a scope keeps the
    # run whole instead of refusing it, since the store's promise is "kept, its secrets not".
    redacts_on_write: bool = False


# Modules of this package that register scopes at import; loaded on the first run, not before,
# so importing the plugin never imports vcrpy.
DEFAULT_SCOPE_MODULES = (
    "pytest_opsladder.http.scope",
    "pytest_opsladder.blast_radius.pause_scope",
    "pytest_opsladder.model_graded.scope",
)
_loaded = False
_LOAD_LOCK = threading.Lock()

ScopeFactory = Callable[["Run", "Run | None", RecordingPlan], AbstractContextManager[Any] | None]
_SCOPES: dict[str, ScopeFactory] = {}


def register_run_scope(name: str, factory: ScopeFactory) -> None:
    """Enter ``factory(run, recorded, plan)`` around every run (replacing one of the same name)."""
    _SCOPES[name] = factory


def run_scopes() -> dict[str, ScopeFactory]:
    global _loaded
    if not _loaded:
        with _LOAD_LOCK:  # two runs starting at once in two threads must both see the scopes
            if not _loaded:
                for module in DEFAULT_SCOPE_MODULES:
                    if module_available(module):
                        importlib.import_module(module)
                _loaded = True
    return dict(_SCOPES)


def enter_run(
    stack: ExitStack, run: Run, recorded: Run | None, plan: RecordingPlan, *, scopes: bool = True
) -> None:
    """Make ``run`` current and enter every registered scope on ``stack`` (closed on failure)."""
    from pytest_opsladder.capture.run import activate

    try:
        stack.enter_context(activate(run))
        for factory in run_scopes().values() if scopes else ():
            scope = factory(run, recorded, plan)
            if scope is not None:
                stack.enter_context(scope)
    except BaseException:
        stack.close()
        raise
