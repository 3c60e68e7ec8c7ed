"""The global pause, a kill switch (ladder level 6): state every process reads, kept thrice.

``opsladder pause`` writes the state file atomically *and* an entry in the pause ledger and in
the anchor beside the state's directory
(:mod:`~pytest_opsladder.blast_radius.pause_ledger`); every side-effecting tool call checks them
at the tool boundary. Every copy is written mode 0644, so agents running as other users can
read it. The pause fails closed (docs/faults.md):

- any copy says paused: paused. Only ``resume`` writes "running", to all of them.
- any copy is odd (bad JSON, a directory, a FIFO or device, a dangling symlink, unreadable,
  huge): paused, without blocking the reader.
- the state file is missing but the ledger or the anchor shows a pause was ever set (even if
  later resumed): paused. Deleting the file or its directory lifts nothing.
- all are missing: never paused, unless ``missing_means_paused``.

A check costs one 8-byte ``pread``: writers bump a change token in a sidecar
(:mod:`~pytest_opsladder.blast_radius.pause_signal`); the files are re-read when the token
changes and at least every ``recheck_interval`` seconds, so hand edits are seen too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.blast_radius import events as ev
from pytest_opsladder.blast_radius.errors import PausedError, PauseStateError
from pytest_opsladder.blast_radius.pause_files import (
    FileKind,
    Occupant,
    PauseFile,
    occupant,
    read_pause_file,
)
from pytest_opsladder.blast_radius.pause_ledger import (
    ENV_PAUSE_LEDGER,
    anchor_entry,
    ledger_entry,
    resolved_state_path,
)
from pytest_opsladder.blast_radius.pause_signal import SignalWatch, bump
from pytest_opsladder.capture.run import emit

ENV_PAUSE_FILE = "OPSLADDER_PAUSE_FILE"
DEFAULT_PAUSE_FILE = ".opsladder/pause.json"


def default_pause_path() -> Path:
    return Path(os.environ.get(ENV_PAUSE_FILE) or DEFAULT_PAUSE_FILE)


@dataclass(frozen=True)
class PauseState:
    """What the switch says right now; ``readable`` is False when the state could not be read
    (odd or missing copies), in which case ``paused`` is True."""

    paused: bool
    reason: str = ""
    since: str = ""
    by: str = ""
    readable: bool = True


_NEVER_PAUSED = PauseState(False)


class PauseSwitch:
    """The kill switch stored at ``path`` (and in the ledger and the anchor); cheap to check,
    shared by processes. ``ledger`` is the ledger directory (default: from the environment)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        missing_means_paused: bool = False,
        recheck_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        ledger: str | Path | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_pause_path()
        self.ledger = ledger_entry(self.path, Path(ledger) if ledger is not None else None)
        self.anchor = anchor_entry(self.path)
        self.copies = tuple(dict.fromkeys((self.path, self.ledger, self.anchor)))
        self.missing_means_paused = missing_means_paused
        self.recheck_interval = recheck_interval
        self.clock = clock
        self.problems: list[str] = []  # what the last pause()/resume() could not write
        self.written: list[Path] = []  # where the last pause()/resume() wrote
        self._cached = _NEVER_PAUSED
        self._fresh_until = float("-inf")
        self._watch = SignalWatch(self.path)
        self._seen: bytes | None = None

    def state(self) -> PauseState:
        """The switch now: from memory while the change token is unchanged, from the files when
        it changed, and at least every ``recheck_interval`` s (hand edits, deletions)."""
        token = self._watch.token()
        if token is None and self._watch.present():
            return self._refresh()  # a sidecar appeared: start following it
        if token == self._seen and self.clock() < self._fresh_until:
            return self._cached
        return self._refresh()

    def _refresh(self) -> PauseState:
        self._watch.refresh()
        self._seen = self._watch.token()
        primary, *others = ((copy, read_pause_file(copy)) for copy in self.copies)
        self._cached = _combine(self, primary[1], others)
        self._fresh_until = self.clock() + self.recheck_interval
        return self._cached

    def is_paused(self) -> bool:
        return self.state().paused

    def check(self, what: str = "this call") -> None:
        """Raise :class:`PausedError` if paused; call it at every side-effecting boundary."""
        state = self.state()
        if state.paused:
            emit(ev.PAUSE_BLOCKED, what, {"reason": state.reason, "readable": state.readable})
            raise PausedError(
                f"{what} was refused: the global pause is on ({state.reason or 'no reason'}"
                f"{', since ' + state.since if state.since else ''}; state file {self.path}). "
                "Side effects stay blocked until someone runs `opsladder resume`."
            )

    def pause(self, reason: str = "", by: str = "") -> PauseState:
        """Write paused to every copy; one copy is enough (readers fail closed), none is not."""
        state = PauseState(True, reason, _utc_now(), by or _who())
        self._write_copies(state)
        if not self.written:
            raise PauseStateError(
                "the pause could not be recorded anywhere: " + "; ".join(self.problems)
            )
        return self._announce(state)

    def resume(self, by: str = "") -> PauseState:
        """Write running to every copy; if any still reads paused, raise and stay paused. On a
        state file that was never written this initialises it explicitly as running."""
        state = PauseState(False, "", _utc_now(), by or _who())
        self._write_copies(state)
        self._announce(state)
        after = self._refresh()
        if after.paused:
            raise PauseStateError(
                f"resume did not take: the pause still reads paused ({after.reason}). "
                + "; ".join(self.problems)
                + " Fix or remove the odd file, then run `opsladder resume` again."
            )
        return state

    def _announce(self, state: PauseState) -> PauseState:
        bump(self.path)
        self._fresh_until = float("-inf")
        return state

    def _write_copies(self, state: PauseState) -> None:
        """Write ``state`` to every copy; note in ``written`` and ``problems`` how it went."""
        self._refuse_foreign()
        outcomes = [(copy, self._write_as(state, copy)) for copy in self.copies]
        self.written = [copy for copy, problem in outcomes if not problem]
        self.problems = [problem for _, problem in outcomes if problem]

    def _refuse_foreign(self) -> None:
        """Raise before writing anything if the state path holds someone's data: any JSON but
        a pause state, or a file that is not JSON unless a copy shows a pause was kept here
        (then it is this pause's damaged state, which resume must be able to replace)."""
        found = occupant(self.path)
        if found is None or (not found.json and self._copies_kept()):
            return
        raise PauseStateError(_foreign_message(self.path, found))

    def _copies_kept(self) -> bool:
        copies = (read_pause_file(copy) for copy in (self.ledger, self.anchor))
        return any(copy.kind is FileKind.OK for copy in copies)

    def _write_as(self, state: PauseState, path: Path) -> str:
        """Write ``state`` to ``path`` atomically, readable by every user (agents may run as
        another user than the operator); '' on success, else what went wrong."""
        body = {"paused": state.paused, "reason": state.reason, "since": state.since}
        body |= {"by": state.by, "state_file": str(resolved_state_path(self.path))}
        try:
            with open_atomic(path, mode=0o644) as handle:
                handle.write(json.dumps(body, sort_keys=True) + "\n")
        except OSError as exc:
            return f"cannot write {path}: {exc.strerror or exc}"
        return ""


def _combine(
    switch: PauseSwitch, primary: PauseFile, others: list[tuple[Path, PauseFile]]
) -> PauseState:
    """The fail-closed reading of the copies (see the module docstring); ``others`` are the
    ledger's and the anchor's, each with its path."""
    if primary.kind is FileKind.ODD:
        return PauseState(True, primary.problem, readable=False)
    for path, copy in others:
        if copy.kind is FileKind.ODD:
            return PauseState(True, _odd_copy(switch, path, copy), readable=False)
    for copy in (primary, *(copy for _, copy in others)):
        if copy.kind is FileKind.OK and copy.data["paused"]:
            return _from_data(copy) if copy is primary else _kept(switch.path, primary, copy)
    if primary.kind is FileKind.OK:
        return _from_data(primary)  # running, written by resume (a lost copy lifts nothing)
    for _, copy in others:
        if copy.kind is FileKind.OK:
            return _lost(switch.path, copy)
    if switch.missing_means_paused:
        return PauseState(True, f"no pause state at {switch.path}", readable=False)
    return _NEVER_PAUSED


def _odd_copy(switch: PauseSwitch, path: Path, copy: PauseFile) -> str:
    if path == switch.ledger:
        return f"{copy.problem}: it is the pause ledger; fix it or set ${ENV_PAUSE_LEDGER}"
    return (
        f"{copy.problem}: it is the pause anchor beside the state's directory; fix or remove "
        "it, then run `opsladder resume`"
    )


def _foreign_message(path: Path, found: Occupant) -> str:
    damaged = "" if found.json else "if it is a damaged pause state, remove it; "
    return (
        f"refusing to overwrite {str(path)!r}: it holds {found.what}, not a pause state. "
        f"Nothing was written. Pass --state the pause state file (${ENV_PAUSE_FILE}, default "
        f"{DEFAULT_PAUSE_FILE}) or a path where no file is yet; {damaged}then run the command "
        "again."
    )


def _from_data(copy: PauseFile) -> PauseState:
    reason, since, by = (str(copy.data.get(k) or "") for k in ("reason", "since", "by"))
    return PauseState(bool(copy.data["paused"]), reason, since, by)


def _kept(path: Path, primary: PauseFile, copy: PauseFile) -> PauseState:
    """A copy says paused; if the state file is gone, the reason says so and how to resume."""
    state = _from_data(copy)
    if primary.kind is not FileKind.MISSING:
        return state
    reason = f"{state.reason or 'no reason'}; the state file {path} is missing, a copy of the "
    reason += f"pause keeps it on until `opsladder resume --state {path}`"
    return PauseState(True, reason, state.since, state.by, readable=False)


def _lost(path: Path, ledger: PauseFile) -> PauseState:
    last = "resumed" if not ledger.data["paused"] else "paused"
    since = str(ledger.data.get("since") or "?")
    return PauseState(
        True,
        f"the pause state {path} is missing, but a copy of the pause shows a pause was set "
        f"(last {last} at {since}); missing state after a pause counts as paused. To lift it, "
        f"run `opsladder resume --state {path}` (it writes an explicit running state)",
        readable=False,
    )


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _who() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or f"pid {os.getpid()}"
