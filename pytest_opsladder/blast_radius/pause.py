"""The global pause, a kill switch (ladder level 6): one file every process reads.

``opsladder pause`` writes the state file atomically; every side-effecting tool call checks it at
the tool boundary. Unreadable state (bad JSON, wrong type, no permission, a directory) means
paused: a kill switch that fails open is no kill switch. The pause is sticky: nothing but an
explicit resume clears it. A missing file means "never paused" unless ``missing_means_paused``.
A check costs no syscall: writers bump a change token that readers see through shared memory
(:mod:`~pytest_opsladder.blast_radius.pause_signal`); the file itself is re-read when the token
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
from typing import Any

from pytest_opsladder._atomic import open_atomic
from pytest_opsladder.blast_radius import events as ev
from pytest_opsladder.blast_radius.errors import PausedError
from pytest_opsladder.blast_radius.pause_signal import SignalWatch, bump
from pytest_opsladder.capture.run import emit

ENV_PAUSE_FILE = "OPSLADDER_PAUSE_FILE"
DEFAULT_PAUSE_FILE = ".opsladder/pause.json"


def default_pause_path() -> Path:
    return Path(os.environ.get(ENV_PAUSE_FILE) or DEFAULT_PAUSE_FILE)


@dataclass(frozen=True)
class PauseState:
    """What the switch says right now; ``readable`` is False when the file could not be read."""

    paused: bool
    reason: str = ""
    since: str = ""
    by: str = ""
    readable: bool = True


_NEVER_PAUSED = PauseState(False)


class PauseSwitch:
    """The kill switch stored at ``path``; cheap to check, safe to share across processes."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        missing_means_paused: bool = False,
        recheck_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path) if path is not None else default_pause_path()
        self.missing_means_paused = missing_means_paused
        self.recheck_interval = recheck_interval
        self.clock = clock
        self._fspath = os.fspath(self.path)
        self._cache_key: tuple[int, int, int, int] | None = None
        self._cached = _NEVER_PAUSED
        self._fresh_until = float("-inf")
        self._watch = SignalWatch(self.path)
        self._seen: bytes | None = None

    def state(self) -> PauseState:
        """The switch now: from memory while the change token is unchanged (no syscall), from
        the file when it changed, and at least every ``recheck_interval`` s (hand edits)."""
        token = self._watch.token()
        if token is not None and token == self._seen and self.clock() < self._fresh_until:
            return self._cached
        return self._refresh()

    def _refresh(self) -> PauseState:
        self._watch.refresh()
        self._seen = self._watch.token()
        state = self._stat_state()
        self._fresh_until = self.clock() + self.recheck_interval
        return state

    def _stat_state(self) -> PauseState:
        try:
            st = os.stat(self._fspath)
        except FileNotFoundError:
            self._cache_key = None
            self._cached = _NEVER_PAUSED
            if self.missing_means_paused:
                self._cached = PauseState(True, f"no pause state at {self.path}", readable=False)
            return self._cached
        except OSError as exc:
            self._cache_key, self._cached = None, _unreadable(self.path, exc)
            return self._cached
        key = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
        if key != self._cache_key:
            self._cached, self._cache_key = _read(self.path), key
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
        return self._write(PauseState(True, reason, _utc_now(), by or _who()))

    def resume(self, by: str = "") -> PauseState:
        return self._write(PauseState(False, "", _utc_now(), by or _who()))

    def _write(self, state: PauseState) -> PauseState:
        body = {"paused": state.paused, "reason": state.reason, "since": state.since}
        _atomic_write(self.path, json.dumps({**body, "by": state.by}, sort_keys=True) + "\n")
        bump(self.path)
        return state


def _read(path: Path) -> PauseState:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _unreadable(path, exc)
    if not isinstance(raw, dict) or not isinstance(raw.get("paused"), bool):
        return _unreadable(path, ValueError('expected {"paused": true|false, ...}'))
    reason, since, by = (str(raw.get(k) or "") for k in ("reason", "since", "by"))
    return PauseState(raw["paused"], reason, since, by)


def _unreadable(path: Path, exc: BaseException) -> PauseState:
    return PauseState(True, f"pause state {path} is unreadable ({exc!r})", readable=False)


def _atomic_write(path: Path, text: str) -> None:
    with open_atomic(path) as handle:
        handle.write(text)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _who() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or f"pid {os.getpid()}"
