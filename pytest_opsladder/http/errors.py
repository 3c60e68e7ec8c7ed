"""Errors of HTTP recording (ladder level 0); each names what was wrong, why, and the fix."""

from __future__ import annotations

from pytest_opsladder.exceptions import CaptureError, CassetteWriteError, ConfigError


class HttpConfigError(ConfigError):
    """A key of ``opsladder_config`` read by the HTTP recorder has a wrong value."""


class HttpSecretError(CassetteWriteError):
    """A credential is still in a recorded interaction: the cassette must not hold it."""

    def __init__(self, message: str, *, run_id: str, index: int, json_path: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.index = index
        self.json_path = json_path


class HttpStreamError(CaptureError):
    """A response stream broke while it was recorded; the interaction is not stored."""
