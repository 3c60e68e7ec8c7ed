"""SDK clients shared in a process (the demo agent's model client, the judge's).

Making an openai or anthropic client loads the TLS trust store: about 50 ms of CPU. The
clients are thread-safe and keep their connections warm, so one is made per endpoint and key
and shared by every caller. Threads asking at once (shadow's concurrent runs) wait for the
first to make it. A forked worker makes its own: its parent's open connections are not its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["shared_client"]

_CLIENTS: dict[tuple[Hashable, ...], Any] = {}
_LOCK = threading.Lock()


def shared_client(make: Callable[[], Any], *ident: Hashable) -> Any:
    """The client ``make()`` returns, made once per ``ident`` (what tells two clients apart:
    the SDK, its base URL, its key...) in this process."""
    key = (*ident, os.getpid())
    client = _CLIENTS.get(key)
    if client is None:
        with _LOCK:
            client = _CLIENTS.get(key)
            if client is None:
                client = _CLIENTS[key] = make()
    return client
