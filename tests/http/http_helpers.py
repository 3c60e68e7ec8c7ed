"""Running a function inside a recorded or replayed run, for the HTTP tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.modes import Mode, RecordMode

VARIANT = Variant("prod", model="m1")


def run_in(
    path: Path,
    fn: Any,
    mode: Mode = Mode.REPLAY,
    record_mode: RecordMode | None = None,
    variant: Variant = VARIANT,
    **opts: Any,
) -> Run:
    """Run ``fn()`` as the agent of one run; its return value becomes the run's output."""
    if record_mode is None:
        record_mode = RecordMode.ONCE if mode is Mode.RECORD else RecordMode.NONE
    recorder = RunRecorder(
        Case("c1"), variant, path, mode=mode, record_mode=record_mode, options=opts
    )
    with recorder as run:
        run.output = fn()
    return run


def outcomes(run: Run) -> list[str]:
    return [e.data["outcome"] for e in run.events_of("http")]
