"""Reading the plugin's true/false ini options, with a message that names the option and file.

pytest reports a bad boolean as ``invalid truth value 'sure'``, naming neither the option nor
the file, and only when the option is read: for ``opsladder_fail_on_inconclusive`` that was at
the end of the session, for ``opsladder_fail_on_live`` at the first live call.
:func:`check_bool_options` reads every one of them when pytest configures, so a bad value stops
the session before any test runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_opsladder.exceptions import ConfigError

# The plugin's boolean ini options (each registered by the module that reads it).
BOOL_OPTIONS = (
    "opsladder_thread_context",
    "opsladder_fail_on_live",
    "opsladder_fail_on_inconclusive",
)


def ini_bool(config: Any, name: str) -> bool:
    """The boolean ini option ``name``; a value that is not one is a :class:`ConfigError`."""
    try:
        return bool(config.getini(name))
    except pytest.UsageError as exc:  # pytest 9: the value's error, naming neither
        where = config.inipath or "the command line (-o)"
        raise ConfigError(
            f"{where}: {name} has a value that is not true or false ({exc}). "
            f"Write {name} = true or {name} = false (or remove it for the default)."
        ) from None


def check_bool_options(config: Any) -> None:
    """Read every boolean option the plugin registered, so a bad one is refused up front."""
    for name in BOOL_OPTIONS:
        try:
            ini_bool(config, name)
        except ValueError:  # not registered: the module that reads it is not installed
            continue
