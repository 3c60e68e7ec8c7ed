"""Handles that must not cross a fork (ladder levels 5 and 6: the audit log, limiter stores).

A child made by ``fork`` (multiprocessing's default start method on Linux) inherits its
parent's open descriptors and, through them, the parent's open file descriptions: an ``flock``
belongs to the open file description, so a child locking an inherited descriptor holds the
*parent's* lock and excludes neither the parent nor its siblings. The child also inherits
thread locks in whatever state another thread of the parent left them.

An object keeping such handles calls :func:`drop_in_forked_child` once; in every child, before
any of the child's own code runs, its ``_after_fork_in_child()`` lets them go (closing only the
child's copy of a descriptor, which never releases the parent's lock) so its next use opens and
locks its own.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "drop_in_forked_child"]


class ForkAware(Protocol):
    """Something holding per-process handles; ``_after_fork_in_child`` must not raise."""

    def _after_fork_in_child(self) -> None: ...


_HOLDERS: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def drop_in_forked_child(holder: ForkAware) -> None:
    """Have ``holder._after_fork_in_child()`` run in each child this process forks from now
    on (for as long as ``holder`` lives: it is held weakly)."""
    _HOLDERS.add(holder)


def _in_child() -> None:
    for holder in list(_HOLDERS):
        holder._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_in_child)
