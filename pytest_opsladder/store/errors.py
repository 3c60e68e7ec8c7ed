"""Errors of the production run store, sampling and review (ladder level 7)."""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.exceptions import CassetteWriteError, ConfigError, OpsladderError


class StoreError(OpsladderError):
    """The run store cannot be read or written; ``path`` names the file."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class StoreConfigError(ConfigError):
    """A store, sampling or review option is wrong (a value outside its closed set ...)."""


class StoreWriteError(StoreError, CassetteWriteError):
    """A run record, the index or a review line cannot be written to the store; ``path`` names
    the file. Also a CassetteWriteError: a stored run is a cassette, and code that caught that
    error around ``capture()`` still does."""
