"""Reading the plugin's settings, with errors that name where a bad value came from.

A setting has three homes: a flag (``--opsladder-epochs 3``), ``-o opsladder_epochs=3`` (on the
command line, in ``PYTEST_ADDOPTS`` or in the ini file's ``addopts``), and the ini file's table
(``[tool.pytest.ini_options]`` of pyproject.toml, ``[pytest]`` of pytest.ini ...). An error that
names the file for a value given with ``-o`` sends the user to a file that does not hold it, so
:func:`origin_of` says which one it was, and :func:`named_origin` puts that in front of the
error of whatever parses the value.

pytest itself reports a bad boolean as ``invalid truth value 'sure'``, naming neither option nor
place, and only when the option is read: for ``opsladder_fail_on_inconclusive`` that was at the
end of the session, for ``opsladder_fail_on_live`` at the first live call.
:func:`check_bool_options` reads every one of them when pytest configures, so a bad value stops
the session before any test runs.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.exceptions import ConfigError

# The plugin's boolean ini options (each registered by the module that reads it).
BOOL_OPTIONS = (
    "opsladder_thread_context",
    "opsladder_fail_on_live",
    "opsladder_fail_on_inconclusive",
)


@dataclass(frozen=True)
class Origin:
    """Where a setting's value came from, and how to write it there."""

    where: str  # "-o opsladder_epochs=x on the command line", "/p/pytest.ini [pytest]", ...
    name: str  # the ini key
    flag: str | None = None  # "-o" or the option, when the value came from a command line

    def example(self, value: str) -> str:
        """The setting written where this value was: ``-o name=value``, ``--flag=value`` or
        ``name = value``."""
        if self.flag == "-o":
            return f"-o {self.name}={value}"
        return f"{self.flag}={value}" if self.flag else f"{self.name} = {value}"

    @property
    def leave_out(self) -> str:
        return "leave it out" if self.flag else "remove it"


def origin_of(
    config: Any, name: str, *, dest: str | None = None, flag: str | None = None
) -> Origin:
    """Where the value of ini option ``name`` (or of its command-line ``flag``, stored under
    ``dest``) came from: command line wins, then ``-o``, then the ini file, then the default."""
    value = config.getoption(dest) if dest else None
    if flag and value not in (None, [], ""):
        shown = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        return Origin(f"{flag}={shown}{_place(config, flag, ' (', ')')}", name, flag)
    override = _override(config, name)
    if override is not None:
        place = _place(config, f"{name}=", " ", "") or " on the command line"
        return Origin(f"-o {name}={override}{place}", name, "-o")
    inipath = getattr(config, "inipath", None)
    table = ini_table(Path(inipath), name) if inipath is not None else None
    if table is not None:
        return Origin(f"{inipath} {table}", name)
    return Origin(f"{name}, not set (its default)", name)


@contextlib.contextmanager
def named_origin(
    config: Any, name: str, *, dest: str | None = None, flag: str | None = None
) -> Iterator[None]:
    """Parse a setting inside this block: its error is raised again naming the value's origin
    (a ConfigError stays one, a UsageError too)."""
    try:
        yield
    except (ConfigError, pytest.UsageError) as exc:
        message = f"{origin_of(config, name, dest=dest, flag=flag).where}: {exc}"
        if isinstance(exc, ConfigError):
            raise ConfigError(message) from None
        raise pytest.UsageError(message) from None


def _override(config: Any, name: str) -> str | None:
    """The value ``-o name=value`` gave (the last one wins, as in pytest), else None."""
    found = None
    for entry in config.getoption("override_ini", None) or ():
        key, _, value = str(entry).partition("=")
        if key.strip() == name:
            found = value
    return found


def _place(config: Any, token: str, before: str, after: str) -> str:
    """Where ``token`` was typed: nothing for the command line itself, else PYTEST_ADDOPTS or
    the ini file's addopts."""
    if any(token in str(arg) for arg in config.invocation_params.args):
        return ""
    if token in os.environ.get("PYTEST_ADDOPTS", ""):
        return f"{before}in PYTEST_ADDOPTS{after}"
    if any(token in str(arg) for arg in _addopts(config)):
        return f"{before}in the addopts of {config.inipath}{after}"
    return ""


def _addopts(config: Any) -> list[str]:
    try:
        return [str(arg) for arg in config.getini("addopts")]
    except (ValueError, pytest.UsageError):
        return []


def ini_table(path: Path, name: str) -> str | None:
    """The table of the pytest config file ``path`` that sets ``name`` (None: not found)."""
    try:
        if path.suffix == ".toml":
            return _toml_table(path, name)
        import iniconfig

        sections = iniconfig.IniConfig(str(path)).sections
    except (OSError, ValueError, tomllib.TOMLDecodeError):
        return None
    for section in ("tool:pytest", "pytest"):
        if name in sections.get(section, {}):
            return f"[{section}]"
    return None


def _toml_table(path: Path, name: str) -> str | None:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    tool = data.get("tool", {}).get("pytest", {})
    for table, values in (
        ("[tool.pytest.ini_options]", tool.get("ini_options", {})),
        ("[tool.pytest]", tool),
        ("[pytest]", data.get("pytest", {})),
    ):
        if isinstance(values, dict) and name in values:
            return table
    return None


def ini_bool(config: Any, name: str) -> bool:
    """The boolean ini option ``name``; a value that is not one is a :class:`ConfigError`
    naming where it came from (``-o`` on the command line, or the file and its table)."""
    problem: pytest.UsageError | None = None
    try:
        return bool(config.getini(name))
    except pytest.UsageError as exc:  # pytest 9: the value's error, naming neither
        problem = exc
    origin = origin_of(config, name)
    raise ConfigError(
        f"{origin.where}: {name} has a value that is not true or false ({problem}). "
        f"Write {origin.example('true')} or {origin.example('false')} (or {origin.leave_out} "
        "for the default)."
    )


def check_bool_options(config: Any) -> None:
    """Read every boolean option the plugin registered, so a bad one is refused up front."""
    for name in BOOL_OPTIONS:
        try:
            ini_bool(config, name)
        except ValueError:  # not registered: the module that reads it is not installed
            continue


def add_number_ini(
    parser: pytest.Parser, name: str, help: str, default: str, *, fractional: bool = False
) -> None:
    """Register a numeric setting. pytest 9's native ``[tool.pytest]`` table holds TOML values
    as they are, and a setting registered as text refused ``opsladder_epochs = 3`` ("expects a
    string, got int"). Where pytest reads type unions, the setting is ``str | int`` (and
    ``float`` for a fractional one): text first, so ini files and ``-o`` give the same text as
    before, and a native TOML number is read as the number. Readers take either
    (:func:`ini_text`)."""
    parser.addini(name, help, type=_number_type(fractional), default=default)


def _number_type(fractional: bool) -> Any:
    from _pytest.config import argparsing

    if not hasattr(argparsing, "_ini_type_to_member"):  # before pytest's ini type unions
        return "string"
    return (str | int | float) if fractional else (str | int)


def ini_text(config: Any, name: str) -> str | None:
    """The ini setting ``name`` as text, None when it is not set. A native TOML ``0`` is
    ``"0"`` (and refused by the setting's own check), never read as "not set"."""
    value = config.getini(name)
    if value is None or value == "":
        return None
    return str(value)
