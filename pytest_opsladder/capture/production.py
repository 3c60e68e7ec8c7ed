"""``capture()``: the same run record, written by production code without pytest (level 0).

    with capture(case_id=ticket.id, variant="prod", store="runs/", input=ticket.text) as run:
        run.output = agent(ticket.text)

The run is written to ``<store>/<YYYY-MM-DD>/<run_id>.json`` as ``incomplete`` before the agent
starts and replaced atomically when it ends, so a crash (even SIGKILL) leaves an ``incomplete``
record, never a half-written file and never a false ``complete``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.modes import Mode, RecordMode


def store_path(store: Path, run: Run) -> Path:
    day = run.manifest["started_at"][:10] or dt.date.today().isoformat()
    return store / day / f"{run.run_id}.json"


@contextmanager
def capture(
    case_id: str,
    variant: str | Variant,
    store: str | Path,
    *,
    input: Any = None,
) -> Iterator[Run]:
    """Record one production run of the agent into a run store."""
    var = variant if isinstance(variant, Variant) else Variant(variant)
    recorder = RunRecorder(
        Case(case_id, input),
        var,
        None,
        mode=Mode.RECORD,
        record_mode=RecordMode.ALL,
        keep_previous=False,
    )
    path = store_path(Path(store), recorder.run)
    recorder.plan = recorder.plan.__class__(**{**recorder.plan.__dict__, "cassette": path})
    files.save(recorder.run, path)
    with recorder as run:
        yield run
