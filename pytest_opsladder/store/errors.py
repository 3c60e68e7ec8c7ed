"""Errors of the production run store, sampling and review (ladder level 7)."""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.exceptions import CassetteWriteError, ConfigError, OpsladderError
from pytest_opsladder.store.layout import INDEX_NAME


class StoreError(OpsladderError):
    """The run store cannot be read or written; ``path`` names the file."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreConfigError(ConfigError):
    """A store, sampling or review option is wrong (a value outside its closed set ...)."""


class IndexVersionError(StoreError):
    """An index line was written in an index format version this release does not read."""

    def __init__(self, path: Path, line: int, found: object, readable: tuple[int, ...]) -> None:
        versions = ", ".join(map(str, readable))
        store = path.parent if path.name == INDEX_NAME else "DIR"
        super().__init__(
            f'{path}:{line}: this index line is in index format version {found!r} (its "v"); '
            f"this release of pytest-opsladder reads version(s) {versions}, and a line of "
            "another format read as one of those could draw the wrong runs. Upgrade "
            "pytest-opsladder (pip install -U pytest-opsladder), or rebuild the index from the "
            f"run files with this release: opsladder sample --reindex --store {store}",
            path=path,
        )
        self.line = line
        self.found = found


class StoreWriteError(StoreError, CassetteWriteError):
    """A run record, the index or a review line cannot be written to the store; ``path`` names
    the file. Also a CassetteWriteError: a stored run is a cassette, and code that caught that
    error around ``capture()`` still does."""
