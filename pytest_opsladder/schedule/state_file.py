"""The monitors' state file on disk (ladder level 1): what a missing or odd file means.

Every failure reads as "cannot check" (MonitorStateError, exit 2 from ``monitors check``),
never as "all monitors up": a dead man's switch that loses its state must fail loud.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pytest_opsladder.schedule.errors import MonitorStateError


def check_state_file(path: Path, create: bool) -> None:
    """Refuse a state path that is not a regular file (a FIFO would hang SQLite's open), and,
    unless creating, one that is missing or empty."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if create:
            return
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} does not exist: no monitor was added here, "
            "or the file was deleted. Nothing can be checked without it; restore it from a "
            "backup, or add the monitors again (`opsladder monitors add`).",
            path=path,
        ) from None
    except OSError as exc:
        raise state_error(path, exc) from exc
    if not stat.S_ISREG(info.st_mode):
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} is not a regular file (a directory, FIFO "
            "or device); pass the SQLite file with --db.",
            path=path,
        )
    if info.st_size == 0 and not create:
        raise MonitorStateError(
            f"the monitors state file {str(path)!r} is empty (truncated?): its monitors are "
            "gone. Restore it from a backup, or add the monitors again.",
            path=path,
        )


def state_error(path: Path, exc: BaseException) -> MonitorStateError:
    return MonitorStateError(
        f"the monitors state file {str(path)!r} cannot be used: {exc}. Nothing was checked or "
        "changed. A corrupt file ('file is not a database') must be restored from a backup; "
        "'disk is full', 'readonly' or 'locked' clear once space, permissions or the other "
        "writer are fixed.",
        path=path,
    )
