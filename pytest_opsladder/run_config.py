"""The ``opsladder_config`` fixture's value, checked before a run opens (ladder level 0).

A user overrides ``opsladder_config`` at any scope; what it returns steers the recording. A value
the plugin cannot use is a :class:`ConfigError` naming the key and the fix, shown as the test's
setup failure (it was a traceback from the plugin's insides: ``'list' object has no attribute
'get'``, ``unsupported operand type(s) for /``), and a key one typo away from one the plugin
reads (``recordmode``) is refused instead of being ignored in silence. Other keys pass: a scope
registered with ``register_run_scope`` may read its own.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.http import config as http_config

# Keys the plugin reads: the recorder's, then the HTTP recorder's.
KEYS = ("record_mode", "cassette_dir", *http_config.KEYS)
_EXAMPLE = "{'record_mode': 'new_episodes', 'allowed_hosts': ['loopback']}"


def check_run_config(raw: object) -> dict[str, Any]:
    """``raw`` as a dict, every key the plugin reads checked (see the module docstring)."""
    from pytest_opsladder.http.config import parse_options

    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"the opsladder_config fixture returned {raw!r}; return a dict such as {_EXAMPLE}. "
            f"Keys: {', '.join(KEYS)}."
        )
    cfg = dict(raw)
    for key in cfg:
        _check_key(key)
    _check_record_mode(cfg.get("record_mode"))
    _check_cassette_dir(cfg.get("cassette_dir"))
    parse_options(cfg)  # the HTTP keys: a bad value names the key and the fix
    return cfg


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise ConfigError(f"opsladder_config has the key {key!r}; keys are strings: {KEYS}.")
    if key in KEYS:
        return
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.8)
    if close:
        raise ConfigError(
            f"opsladder_config has the key {key!r}, which the plugin does not read: did you "
            f"mean {close[0]!r}? Keys: {', '.join(KEYS)}."
        )


def _check_record_mode(value: object) -> None:
    from pytest_opsladder.modes import RecordMode

    if value is None or value == "":
        return
    if not isinstance(value, str):
        valid = ", ".join(m.value for m in RecordMode)
        raise ConfigError(
            f"opsladder_config['record_mode'] is {value!r}; it must be one of: {valid}."
        )
    RecordMode.parse(value, setting="record mode (opsladder_config['record_mode'])")


def _check_cassette_dir(value: object) -> None:
    if value is None or value == "" or isinstance(value, str | os.PathLike):
        return
    raise ConfigError(
        f"opsladder_config['cassette_dir'] is {value!r}; it must be a directory path (a str "
        "or pathlib.Path, relative to the rootdir), e.g. 'recordings'."
    )
