"""``capture()``: the same run record, written by production code without pytest (level 0).

    with capture(case_id=ticket.id, variant="prod", store="runs/", input=ticket.text) as run:
        run.output = agent(ticket.text)

The run is written to ``<store>/<YYYY-MM-DD>/<run_id>.json`` as ``incomplete`` before the agent
starts and replaced atomically when it ends, so a crash (even SIGKILL) leaves an ``incomplete``
record, never a half-written file and never a false ``complete``. Both writes are redacted
(level-3 redaction registry). When the run has ended, one line is appended to the store's
``index.jsonl`` under a lock (see :mod:`pytest_opsladder.store`), which is what sampling reads.

``store`` may be left out: ``$OPSLADDER_STORE`` names the directory, else ``runs/``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.run import Run, RunStatus
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.exceptions import ToolArgumentError
from pytest_opsladder.modes import Mode, RecordMode


def store_path(store: Path, run: Run) -> Path:
    day = run.manifest["started_at"][:10] or dt.date.today().isoformat()
    return store / day / f"{run.run_id}.json"


class _StoreRecorder(RunRecorder):
    """A recorder whose cassette is the store: redacted writes, and an index line at the end."""

    def __init__(self, store: Path, case: Case, variant: Variant) -> None:
        super().__init__(
            case, variant, None, mode=Mode.RECORD, record_mode=RecordMode.ALL, keep_previous=False
        )
        self.store = store
        path = store_path(store, self.run)
        self.plan = dataclasses.replace(self.plan, cassette=path, redacts_on_write=True)
        from pytest_opsladder.store.runs import index_identity

        # the index as the run starts: a reindex while it runs may list it incomplete
        self.index_at_start = index_identity(store)
        self._write(index=False)

    def _write(self, *, index: bool) -> None:
        from pytest_opsladder.store.runs import write_run

        self.saved_to = write_run(
            self.store, self.run.to_dict(), index=index, index_at_start=self.index_at_start
        )

    def _persist(self) -> None:
        try:
            self._write(index=self.run.status is not RunStatus.INCOMPLETE)
        except ToolArgumentError as exc:  # an output no conversion stores: the run is kept as
            self.run.output = None  # an error naming it, not left "incomplete" for ever
            self.run.fail(exc)
            self._write(index=True)
            raise


@contextmanager
def capture(
    case_id: str,
    variant: str | Variant,
    store: str | Path | None = None,
    *,
    input: Any = None,
) -> Iterator[Run]:
    """Record one production run of the agent into a run store."""
    from pytest_opsladder.store.layout import resolve_store

    var = variant if isinstance(variant, Variant) else Variant(variant)
    recorder = _StoreRecorder(resolve_store(store), Case(case_id, input), var)
    with recorder as run:
        yield run
