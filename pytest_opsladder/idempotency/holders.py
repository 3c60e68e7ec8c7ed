"""Who holds an idempotency lock: this process, or somebody else? (ladder level 2)

A holder id is ``<uuid>@<pid>-<nonce>``, the nonce drawn once per process, so a later process
that happens to get the same pid (a restarted container's pid 1) is never mistaken for it.
When a *started* lock expires, only the process that holds it may take it over: its holder is
then merely slow (another thread or task of ours), as ``lock_expiry`` allows. Anywhere else the
holder may have crashed after the side effect, so the key becomes ``completed_unrecorded``. A
claim this process gave up on (its record failed, it was interrupted) is :func:`abandon`-ed and
counts as somebody else's.
"""

from __future__ import annotations

import os
import threading
import uuid

_ME: dict[int, str] = {}
_ABANDONED: set[str] = set()
_LOCK = threading.Lock()


def _me() -> str:
    pid = os.getpid()  # a forked child gets its own identity
    me = _ME.get(pid)
    if me is None:
        me = _ME.setdefault(pid, f"{pid}-{uuid.uuid4().hex[:12]}")
    return me


def new_holder() -> str:
    """A fresh holder id for a claim made by this process."""
    return f"{uuid.uuid4().hex}@{_me()}"


def held_here(holder: str) -> bool:
    """True if ``holder`` is a claim of this very process that it has not given up on."""
    return holder.endswith("@" + _me()) and holder not in _ABANDONED


def abandon(holder: str) -> None:
    """This process gave up on the claim: treat it as anybody else's from now on."""
    with _LOCK:
        _ABANDONED.add(holder)
