"""A change token for the global pause (ladder level 6), read from shared memory.

Every write of the pause state also writes 8 random bytes into a small sidecar file
(``<state>.signal``). Readers map that file once and compare the token on each check: a memory
read, no syscall, yet a pause written by any process is seen at the very next tool boundary.
Hand edits of the state file do not touch the token; readers re-check the file itself every
``recheck_interval`` seconds to catch those. The sidecar is only ever grown, never truncated
(a mapped file that shrinks would crash its readers): do not edit or truncate it by hand.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

SIZE = 4096
TOKEN = 8


def signal_path(state: Path) -> Path:
    return state.with_name(state.name + ".signal")


def bump(state: Path) -> None:
    """Announce a change of ``state`` to every reader (call after writing the state)."""
    fd = os.open(signal_path(state), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < SIZE:
            os.ftruncate(fd, SIZE)  # grows only
        os.pwrite(fd, os.urandom(TOKEN), 0)
    finally:
        os.close(fd)


class SignalWatch:
    """A read-only mapping of the sidecar; ``token()`` is None while there is none."""

    def __init__(self, state: Path) -> None:
        self.path = signal_path(state)
        self._mm: mmap.mmap | None = None
        self._ino = -1

    def token(self) -> bytes | None:
        mm = self._mm
        return mm[:TOKEN] if mm is not None else None

    def refresh(self) -> None:
        """(Re)map the sidecar if it appeared or was replaced since the last look."""
        try:
            st = os.stat(self.path)
        except OSError:
            self._close()
            return
        if st.st_ino != self._ino or self._mm is None:
            self._close()
            if st.st_size >= SIZE:
                self._map(st.st_ino)

    def _map(self, ino: int) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return
        try:
            self._mm = mmap.mmap(fd, SIZE, prot=mmap.PROT_READ)
            self._ino = ino
        except (OSError, ValueError):
            self._mm = None
        finally:
            os.close(fd)

    def _close(self) -> None:
        if self._mm is not None:
            self._mm.close()
        self._mm, self._ino = None, -1
