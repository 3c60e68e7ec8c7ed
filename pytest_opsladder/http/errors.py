"""Errors of HTTP recording (ladder level 0); each names what was wrong, why, and the fix."""

from __future__ import annotations

from pytest_opsladder.exceptions import CaptureError, ConfigError
from pytest_opsladder.secrets import CassetteSecretError


class HttpConfigError(ConfigError):
    """A key of ``opsladder_config`` read by the HTTP recorder has a wrong value."""


class HttpSecretError(CassetteSecretError):
    """A credential is still in a recorded interaction: the cassette must not hold it."""

    def __init__(self, message: str, *, run_id: str, index: int, json_path: str) -> None:
        super().__init__(message, run_id=run_id, json_path=json_path, findings=[])
        self.index = index


class HttpStreamError(CaptureError):
    """A response stream broke while it was recorded; the interaction is not stored."""
