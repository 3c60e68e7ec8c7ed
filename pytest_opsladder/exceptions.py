"""Every error pytest-opsladder raises, in one hierarchy.

    OpsladderError                      base: catch this to catch everything of ours
    ├── ConfigError                     a setting, option or file of configuration is wrong
    ├── CassetteError                   a cassette file cannot be used
    │   ├── CassetteNotFoundError       replay asked for a cassette that was never recorded
    │   ├── CassetteCorruptError        truncated, not JSON/YAML, or carries executable tags
    │   ├── CassetteSchemaError         a schema version this release does not read
    │   └── CassetteWriteError          the cassette directory cannot be written
    ├── CaptureError                    run capture (ladder level 0) was misused
    │   ├── NoActiveRunError            an API that needs a run was called outside one
    │   ├── UnknownEventKindError       an event kind nobody registered
    │   └── ToolArgumentError           a tool argument or result is not JSON-serialisable
    ├── ReplayError                     replay could not reproduce what was recorded
    │   ├── ToolReplayMissError         a tool call that was never recorded
    │   └── HttpReplayMissError         an HTTP request that was never recorded
    ├── RecordedToolError               re-raised in replay: the tool raised this when recorded
    └── OutputWriteError                a file a command was told to write (-o) cannot be written

Every message says what was wrong (with the value), why, and how to fix it; the context is kept
on attributes (``path``, ``case_id``, ``tool`` ...) so tools and reports can show it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class OpsladderError(Exception):
    """Base class of every error raised by pytest-opsladder.

    Every one pickles as it is (its message and its attributes), whatever its ``__init__``
    takes: a shadow worker process hands the error a case's item raises to the controller."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[OpsladderError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error of ``cls`` with the given args and attributes, its ``__init__`` not called."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(OpsladderError):
    """A configuration value, option or file is invalid."""


class CassetteError(OpsladderError):
    """A cassette file cannot be read or written."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class CassetteNotFoundError(CassetteError):
    """Replay asked for a cassette that does not exist."""


class CassetteCorruptError(CassetteError):
    """The cassette is truncated, unparsable, or carries tags that would execute code."""


class CassetteFormatError(CassetteCorruptError):
    """The cassette parses but does not match the published schema: names the JSON path."""

    def __init__(
        self, message: str, *, path: Path | str | None, json_path: str, expected: str
    ) -> None:
        super().__init__(message, path=path)
        self.json_path = json_path
        self.expected = expected


class CassetteSchemaError(CassetteError):
    """The cassette was written with a schema version this release cannot read."""

    def __init__(self, message: str, *, path: Path | str | None, found: object) -> None:
        super().__init__(message, path=path)
        self.found = found


class CassetteWriteError(CassetteError):
    """The cassette could not be written (permissions, missing disk, ...)."""


class CaptureError(OpsladderError):
    """Run capture was used in a way it does not support."""


class NoActiveRunError(CaptureError):
    """An API that records into the current run was called while no run is active."""


class UnknownEventKindError(CaptureError):
    """An event was emitted with a kind that no module registered."""


class ToolArgumentError(CaptureError, TypeError):
    """A tool argument or result cannot be stored in a cassette."""

    def __init__(self, message: str, *, tool: str, path: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.path = path


class ReplayError(OpsladderError):
    """Replay could not reproduce a recorded interaction."""


class ToolReplayMissError(ReplayError):
    """A tool call was made in replay that the cassette never recorded."""

    def __init__(self, message: str, *, tool: str, args: Any, closest: list[Any]) -> None:
        super().__init__(message)
        self.tool = tool
        self.call_args = args
        self.closest = closest


class CassetteReplayError(ReplayError):
    """A cassette valid in form holds something replay cannot use (inconsistent content)."""


class HttpReplayMissError(ReplayError):
    """An HTTP request was made in replay that the cassette never recorded."""


class RecordedToolError(OpsladderError):
    """Raised in replay in place of a recorded exception whose type is not a builtin.

    Loading a cassette never imports or executes anything, so a custom exception type is not
    re-created: its module, name and message are kept here instead.
    """

    def __init__(self, type_name: str, module: str, message: str) -> None:
        super().__init__(f"{module}.{type_name}: {message}")
        self.type_name = type_name
        self.module = module
        self.message = message


class OutputWriteError(OpsladderError):
    """A file a command was told to write (``-o``) cannot be written; nothing was replaced."""

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(message)
        self.path = Path(path)
