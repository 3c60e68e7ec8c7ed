"""The HTTP recorder's settings, read from the user's ``opsladder_config`` dict (level 0).

Keys (all optional):

- ``match_ignore``: JSON paths of request bodies left out of matching (``$.temperature``).
- ``allowed_hosts``: hosts that unrecorded requests may reach in replay (``"loopback"`` means
  127.0.0.1, ::1 and localhost); every other unrecorded request is blocked.
- ``secrets_allow``: regular expressions of credential-looking strings that are not secrets.
- ``stream_timing``: replay streamed chunks with the recorded gaps times this factor
  (``0``/None, the default: instantly; ``1.0``: at recorded speed).
- ``stream_sleep`` / ``stream_async_sleep``: what waits between chunks (default
  ``time.sleep`` / ``asyncio.sleep``); inject a fake clock here in tests.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_opsladder.http.errors import HttpConfigError

LOOPBACK = ("127.0.0.1", "::1", "localhost")
KEYS = (
    "match_ignore",
    "allowed_hosts",
    "secrets_allow",
    "stream_timing",
    "stream_sleep",
    "stream_async_sleep",
)


@dataclass(frozen=True)
class HttpOptions:
    match_ignore: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()
    secrets_allow: tuple[re.Pattern[str], ...] = ()
    stream_timing: float = 0.0
    sleep: Callable[[float], Any] = time.sleep
    async_sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep)

    def host_allowed(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed_hosts


def parse_options(raw: dict[str, Any]) -> HttpOptions:
    """Validate the HTTP keys of ``opsladder_config``; a bad value names the key and the fix."""
    return HttpOptions(
        match_ignore=tuple(_strings(raw, "match_ignore")),
        allowed_hosts=frozenset(_hosts(_strings(raw, "allowed_hosts"))),
        secrets_allow=tuple(_regex(p) for p in _strings(raw, "secrets_allow")),
        stream_timing=_factor(raw.get("stream_timing")),
        sleep=_callable(raw, "stream_sleep", time.sleep),
        async_sleep=_callable(raw, "stream_async_sleep", asyncio.sleep),
    )


def _strings(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key) or []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise HttpConfigError(
            f"opsladder_config[{key!r}] is {value!r}; it must be a list of strings, "
            f"for example {key!r}: ['...']."
        )
    return list(value)


def _hosts(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out += LOOPBACK if value.lower() == "loopback" else [value.lower().strip("[]")]
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise HttpConfigError(
            f"opsladder_config['secrets_allow'] holds {pattern!r}, which is not a valid regular "
            f"expression ({exc}). Escape it with re.escape() to allow a literal string."
        ) from None


def _factor(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise HttpConfigError(
            f"opsladder_config['stream_timing'] is {value!r}; it must be a number >= 0 "
            "(0: replay streams instantly, 1.0: at recorded speed, 0.5: twice as fast)."
        )
    return float(value)


def _callable(raw: dict[str, Any], key: str, default: Any) -> Any:
    value = raw.get(key, default)
    if not callable(value):
        raise HttpConfigError(
            f"opsladder_config[{key!r}] is {value!r}; it must be a callable taking seconds."
        )
    return value
