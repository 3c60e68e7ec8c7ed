"""A change token for the global pause (ladder level 6), read with one ``pread``.

Every write of the pause state also writes 8 random bytes into a small sidecar file
(``<state>.signal``). Readers keep the sidecar open and read the token on each check: one 8-byte
``pread``, no path lookup, yet a pause written by any process is seen at the very next tool
boundary. The sidecar is never memory-mapped: a mapped file that someone truncates kills its
readers with SIGBUS, while a ``pread`` of a truncated file just returns fewer bytes (a changed
token, so the reader re-reads the state). A sidecar that is missing, replaced, or not a regular
file (a FIFO, a directory) only costs speed: readers then look at the state files on every check
until a regular sidecar appears. Hand edits of the state file do not touch the token; readers
re-check the file itself every ``recheck_interval`` seconds to catch those.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from pytest_opsladder._atomic import open_atomic

SIZE = 4096
TOKEN = 8
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC


def signal_path(state: Path) -> Path:
    return state.with_name(state.name + ".signal")


def bump(state: Path) -> bool:
    """Announce a change of ``state`` to every reader (call after writing the state); False
    if the sidecar could not be written (readers then fall back to re-reading the state)."""
    path = signal_path(state)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError:
        return _replace(path)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return _replace(path)  # a FIFO or device squatting on the path: swap in a file
        if os.fstat(fd).st_size < SIZE:
            os.ftruncate(fd, SIZE)
        os.pwrite(fd, os.urandom(TOKEN), 0)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _replace(path: Path) -> bool:
    try:
        with open_atomic(path, binary=True, mode=0o644) as handle:
            handle.write(os.urandom(TOKEN) + bytes(SIZE - TOKEN))
    except OSError:
        return False  # e.g. a directory in the way: readers re-check the state instead
    return True


class SignalWatch:
    """An open descriptor on the sidecar; ``token()`` is None while there is no usable one."""

    def __init__(self, state: Path) -> None:
        self.path = signal_path(state)
        self._fd = -1
        self._ino = -1

    def token(self) -> bytes | None:
        if self._fd < 0:
            return None
        try:
            return os.pread(self._fd, TOKEN, 0)
        except OSError:
            return None

    def present(self) -> bool:
        """Is there a sidecar we have not opened yet? (one stat, only while we have none)"""
        return os.path.exists(self.path)

    def refresh(self) -> None:
        """(Re)open the sidecar if it appeared or was replaced since the last look."""
        try:
            st = os.stat(self.path)
        except OSError:
            self._close()
            return
        if st.st_ino != self._ino or self._fd < 0:
            self._close()
            if stat.S_ISREG(st.st_mode):
                self._open()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, _READ)
        except OSError:
            return
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return
        self._fd, self._ino = fd, st.st_ino

    def _close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._ino = -1, -1

    def __del__(self) -> None:
        self._close()
