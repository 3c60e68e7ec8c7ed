"""Errors of nightmare-set curation (ladder level 7)."""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.exceptions import ConfigError


class CurationError(ConfigError):
    """A curation command cannot do what it was asked (an unknown case, a taken id ...)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
