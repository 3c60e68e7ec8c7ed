"""Who holds an idempotency lock: this process, or somebody else, and is it alive? (level 2)

A holder id is ``<uuid>@<pid>-<nonce>@<host>``, the nonce drawn once per process, so a later
process that happens to get the same pid (a restarted container's pid 1) is never mistaken for
it. ``<host>`` is the host name and the pid namespace, so that a pid is only ever looked up
where it means the same process. When a *started* lock expires, only the process that holds it
may take it over: its holder is then merely slow (another thread or task of ours), as
``lock_expiry`` allows. Anywhere else the holder may have crashed after the side effect, so the
key becomes ``completed_unrecorded``. A claim this process gave up on (its record failed, it was
interrupted) is :func:`abandon`-ed and counts as somebody else's.

:func:`liveness` tells an operator's tool whether a holder is provably alive (its pid runs on
this host: it may still be working), provably gone (same host, no such process: it crashed),
or unknown (another host, or a holder id written before hosts were recorded).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from enum import StrEnum

_ME: dict[int, str] = {}
_ABANDONED: set[str] = set()
_LOCK = threading.Lock()


def this_host() -> str:
    """The host name and pid namespace: where a holder's pid can be checked."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = ""
    return socket.gethostname() + namespace


def _me() -> str:
    pid = os.getpid()  # a forked child gets its own identity
    me = _ME.get(pid)
    if me is None:
        me = _ME.setdefault(pid, f"{pid}-{uuid.uuid4().hex[:12]}@{this_host()}")
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


class Liveness(StrEnum):
    """What an operator can know about a lock's holder from here."""

    ALIVE = "alive"  # its process runs on this host: it may still be working
    CRASHED = "crashed"  # this host, and its process is gone
    UNKNOWN = "unknown"  # another host, or an id without one: in flight or crashed


@dataclass(frozen=True)
class HolderProcess:
    """Where a holder runs: ``pid`` on ``host`` ('' if the id predates hosts)."""

    pid: int
    host: str


def holder_process(holder: str) -> HolderProcess | None:
    """The process in ``holder``'s id, or None if the id has none."""
    parts = holder.split("@", 2)
    pid = parts[1].split("-", 1)[0] if len(parts) > 1 else ""
    if not pid.isdigit() or int(pid) <= 0:
        return None
    return HolderProcess(int(pid), parts[2] if len(parts) > 2 else "")


def liveness(holder: str) -> Liveness:
    """Is ``holder``'s process alive? Only a pid on this very host can be checked."""
    process = holder_process(holder)
    if process is None or process.host != this_host():
        return Liveness.UNKNOWN
    return Liveness.ALIVE if _running(process.pid) else Liveness.CRASHED


def _running(pid: int) -> bool:
    """Does ``pid`` run (a zombie has exited: not running)? A reused pid reads as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True
