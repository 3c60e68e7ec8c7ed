"""Opening a run in a mode, and persisting it safely when it ends (ladder level 0).

:class:`RunRecorder` is the one place that turns (mode, record mode, cassette path) into a
recording plan: which results come from the cassette, what may go out live, and whether the
cassette is written at the end. The pytest plugin, the nightmare-set items and production
``capture()`` all open runs through it.

Nothing recorded is lost: an interrupted run (KeyboardInterrupt, SystemExit, a cancelled task)
is written beside the cassette as ``<name>.incomplete.json``, and a run that ended in ``error``,
whose HTTP requests all failed, or whose test did not pass where the baseline's did, is written
beside a ``complete`` cassette as ``<name>.error.json`` (see :mod:`.baseline`).
``--opsladder-record-mode=rewrite`` is no exception: it records from scratch with the old
cassette left in place, and replaces it (atomically) only as ``all`` would. A run holding a
credential is refused before anything is written (:mod:`pytest_opsladder.secrets`).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

from pytest_opsladder.capture.baseline import keeps_baseline
from pytest_opsladder.capture.boundary import ReplayBoundary, ToolBoundary
from pytest_opsladder.capture.metrics import compute_metrics
from pytest_opsladder.capture.run import Run, RunStatus
from pytest_opsladder.capture.scopes import RecordingPlan, enter_run
from pytest_opsladder.capture.tools import tools_schema_hash
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.cassette.naming import error_path, incomplete_path
from pytest_opsladder.exceptions import CassetteNotFoundError, CassetteWriteError
from pytest_opsladder.modes import Mode, RecordMode


def plan_recording(
    mode: Mode,
    record_mode: RecordMode,
    cassette: Path | None,
    options: dict[str, Any] | None = None,
) -> RecordingPlan:
    exists = cassette is not None and cassette.exists()
    opts = options or {}
    if mode is Mode.REPLAY or record_mode is RecordMode.NONE:
        return RecordingPlan(mode, RecordMode.NONE, cassette, True, False, opts)
    if record_mode is RecordMode.ONCE:
        return RecordingPlan(mode, record_mode, cassette, exists, not exists, opts)
    if record_mode is RecordMode.NEW_EPISODES:
        return RecordingPlan(mode, record_mode, cassette, exists, True, opts)
    return RecordingPlan(mode, record_mode, cassette, False, True, opts)  # all, rewrite


class RunRecorder:
    """Context manager: ``with RunRecorder(case, variant, path, ...) as run: agent(...)``."""

    def __init__(
        self,
        case: Case,
        variant: Variant,
        cassette: Path | None,
        *,
        mode: Mode = Mode.REPLAY,
        record_mode: RecordMode | None = None,
        epoch: int = 0,
        options: dict[str, Any] | None = None,
        keep_previous: bool = True,
    ) -> None:
        self.keep_previous = keep_previous
        if record_mode is None:  # as under pytest: recording means `once`, replay means `none`
            record_mode = RecordMode.NONE if mode is Mode.REPLAY else RecordMode.ONCE
        self.plan = plan_recording(mode, record_mode, cassette, options)
        self.recorded: Run | None = None
        self.run = Run(case, variant, tools_hash=tools_schema_hash(), epoch=epoch)
        self.saved_to: Path | None = None
        self.kept_baseline: Path | None = None  # the good cassette a failed run did not replace
        # Set by the pytest plugin while a test tears down: the run ends with its fixture, and
        # is written by persist() once every fixture has torn down (an error there is part of
        # the test's outcome, which decides where the run is kept).
        self.defer_persist = False
        self._stack = ExitStack()

    @property
    def replayed(self) -> bool:
        return self.recorded is not None

    def __enter__(self) -> Run:
        self._prepare_cassette()
        self.run.boundary = self._boundary()
        enter_run(self._stack, self.run, self.recorded, self.plan)
        return self.run

    def _prepare_cassette(self) -> None:
        path = self.plan.cassette
        if path is None:
            return
        if self.plan.replaying:
            if not path.exists():
                raise CassetteNotFoundError(
                    f"no cassette for case {self.run.case.id!r} (variant "
                    f"{self.run.variant.name!r}) at {path}. Record it with: "
                    f"pytest --opsladder-mode=record -k {self.run.case.id!r}",
                    path=path,
                )
            self.recorded = files.load(path)
            called = sorted({e.name for e in self.recorded.events_of("tool_call")})
            self.run.tools_hash = tools_schema_hash(called)  # the same tools' schemas, today

    def _boundary(self) -> ToolBoundary:
        if self.recorded is None:
            return ToolBoundary()
        return ReplayBoundary(self.recorded.events, fallthrough=self.plan.live)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # The status is set before the scopes exit, so an exporter leaving with them sees how the
        # run ended; metrics are computed again after, to include what the scopes added.
        if exc is not None:
            self.run.fail(exc)
        elif self.run.status is RunStatus.INCOMPLETE:
            self.run.finish(self.run.output)
        try:
            self._stack.__exit__(kind, exc, tb)
        except CassetteWriteError:
            raise  # a scope refused this cassette (a secret in it): the previous one stays intact
        except BaseException:
            self._persist_with_metrics()
            raise
        if not self.defer_persist:
            self._persist_with_metrics()

    def persist(self) -> None:
        """Write the ended run (after ``__exit__`` with ``defer_persist`` set)."""
        self._persist_with_metrics()

    def _persist_with_metrics(self) -> None:
        self.run.metrics = compute_metrics(self.run)
        self._persist()

    def _persist(self) -> None:
        path = self.plan.cassette
        if path is None or not self._should_write():
            return
        allow = self._secrets_allow()
        if self.run.status is RunStatus.INCOMPLETE and self.keep_previous:
            self.saved_to = files.save(self.run, incomplete_path(path), allow=allow)
        elif self._keeps_baseline(path):
            self.kept_baseline = path
            self.saved_to = files.save(self.run, error_path(path), allow=allow)
        else:
            self.saved_to = files.save(self.run, path, allow=allow)
            files.remove(incomplete_path(path))
            files.remove(error_path(path))

    def _keeps_baseline(self, path: Path) -> bool:
        return self.keep_previous and keeps_baseline(self.run, path)

    def _secrets_allow(self) -> tuple[Any, ...]:
        from pytest_opsladder.http.config import parse_options

        return parse_options(self.plan.options).secrets_allow

    def _should_write(self) -> bool:
        if self.plan.mode is Mode.SHADOW and self.plan.options.get("shadow_no_write"):
            return False
        if self.recorded is None:
            return self.plan.live
        boundary = self.run.boundary
        new_tools = boundary is not None and boundary.executed > 0
        return self.plan.live and (new_tools or bool(self.run.extra.get("http_new_episodes")))
