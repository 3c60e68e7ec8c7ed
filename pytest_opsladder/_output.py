"""A file a command writes (``-o FILE``): atomic, and an unwritable path is a named error.

Commands that export or merge write their output through :class:`OutputFile`: the old file is
replaced only once the new one is complete (a bad input met halfway leaves it as it was), and a
path that cannot be written (a directory, a missing parent that cannot be created, no
permission, a full disk) raises :class:`~pytest_opsladder.exceptions.OutputWriteError` naming
the file, the reason and the option to change, instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, Any

from pytest_opsladder._atomic import AtomicFile, open_atomic
from pytest_opsladder.exceptions import OutputWriteError


class OutputFile:
    """``with OutputFile(path, option="-o") as fh:`` writes ``path`` atomically."""

    def __init__(self, path: Path | str, *, option: str = "-o") -> None:
        self.path = Path(path)
        self.option = option
        self._atomic: AtomicFile | None = None

    def __enter__(self) -> IO[Any]:
        # a new file is readable as a redirect's would be; a file replaced keeps its mode
        mode = self.path.stat().st_mode & 0o777 if self.path.is_file() else 0o644
        try:
            self._atomic = open_atomic(self.path, mode=mode)
        except OSError as exc:
            raise self._error(exc) from exc
        return self._atomic.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._atomic is None:
            return
        try:
            self._atomic.__exit__(kind, exc, tb)
        except OSError as failed:
            if exc is not None:
                raise
            raise self._error(failed) from failed

    def _error(self, exc: OSError) -> OutputWriteError:
        where = "a directory is in the way" if self.path.is_dir() else exc.strerror or str(exc)
        return OutputWriteError(
            f"cannot write {str(self.path)!r}: {where}. Nothing was written there; pass "
            f"{self.option} a file path in a writable directory.",
            path=self.path,
        )
