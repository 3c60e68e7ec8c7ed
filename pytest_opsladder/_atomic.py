"""Atomic file writes, for everything this package persists (cassettes, results, state).

``open_atomic(path)`` creates the directory and a temporary file beside ``path`` at once (so a
caller can turn an unwritable directory into its own error before writing anything); used as
a context manager it yields the file, and on a clean exit flushes, fsyncs and renames it over
``path``. On any exception the temporary file is removed and ``path`` is left as it was: a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any


class AtomicFile:
    """A temporary file that replaces ``path`` when its ``with`` block ends cleanly."""

    def __init__(self, path: Path, *, binary: bool, mode: int | None) -> None:
        self.path = path
        self.mode = mode
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self.handle: IO[Any] = (
            os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")
        )

    def __enter__(self) -> IO[Any]:
        return self.handle

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                self._commit()
        except BaseException:
            self._discard()
            raise
        if exc is not None:
            self._discard()

    def _commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if self.mode is not None:
            os.chmod(self.tmp, self.mode)  # mkstemp makes 0600
        os.replace(self.tmp, self.path)

    def _discard(self) -> None:
        """Close and remove the temporary file. Closing flushes what is still buffered, which
        fails again on a full disk: that error is dropped (the one that made us discard is
        raised), and the file is removed all the same."""
        with contextlib.suppress(OSError):
            self.handle.close()
        Path(self.tmp).unlink(missing_ok=True)


def open_atomic(path: Path | str, *, binary: bool = False, mode: int | None = None) -> AtomicFile:
    """Open a temporary file that atomically replaces ``path``; raises OSError at once if the
    directory cannot be written."""
    return AtomicFile(Path(path), binary=binary, mode=mode)
