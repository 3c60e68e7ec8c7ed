"""Errors of the reports (ladder level 7): a results file that cannot be read or written.

    OpsladderError
    └── ReportError                     a report could not be produced
        ├── ResultsFileError            a results JSON is missing, unparsable or malformed
        │   └── ResultsSchemaError      a schema_version this release does not read
        └── ReportWriteError            the output directory cannot be written

Each message names the file and the key, says why, and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.exceptions import OpsladderError


class ReportError(OpsladderError):
    """A report could not be produced."""


class ResultsFileError(ReportError):
    """A results JSON is missing, unparsable, or does not follow docs/results-schema.md."""

    def __init__(self, message: str, *, path: Path | str | None = None, key: str = "") -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.key = key


class ResultsSchemaError(ResultsFileError):
    """The results JSON was written with a schema version this release cannot read."""

    def __init__(
        self, message: str, *, path: Path | str | None, found: object, supported: tuple[int, ...]
    ) -> None:
        super().__init__(message, path=path, key="schema_version")
        self.found = found
        self.supported = supported


class ReportWriteError(ReportError):
    """A report file could not be written (permissions, missing disk, a file in the way)."""
