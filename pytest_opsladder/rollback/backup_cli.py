"""``opsladder restore PATH [--backups DIR] [--list]``: back to the last known good (level 5)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pytest_opsladder._visible import field_line
from pytest_opsladder.rollback.backup import ENV_BACKUP_DIR, Backups
from pytest_opsladder.rollback.errors import BackupError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("restore", help="restore the last known good (level 5)")
    parser.add_argument("path", help="the artifact (file, directory or SQLite database)")
    parser.add_argument(
        "--backups",
        default=None,
        metavar="DIR",
        help=f"where snapshots live (default: ${ENV_BACKUP_DIR} or .opsladder/backups)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the snapshots instead of restoring"
    )
    parser.set_defaults(func=_restore)


def _restore(args: argparse.Namespace) -> int:
    backups = Backups(args.backups)
    _check_root(backups.root)
    if args.list:
        return _list(backups, args.path)
    snap = backups.restore(args.path)
    print(f"restored {snap.source} to snapshot {snap.id} taken {snap.taken_at} ({snap.kind})")
    if backups.kept_aside is not None:
        print(f"the damaged database was kept at {backups.kept_aside}")
    return 0


def _list(backups: Backups, path: str) -> int:
    snaps = backups.snapshots(path)
    for snap in snaps:
        print(field_line(snap.id, snap.taken_at, snap.kind, "good" if snap.good else "bad"))
    if not snaps:  # as `trash list` says the trash is empty, rather than print nothing
        where = (
            "" if backups.root.is_dir() else f" (no such directory: --backups or ${ENV_BACKUP_DIR})"
        )
        print(f"no snapshots of {str(Path(path).absolute())!r} in {str(backups.root)!r}{where}")
    return 0


def _check_root(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise BackupError(
            f"the backups directory {str(root)!r} is a file, not a directory. Pass --backups "
            f"the directory the snapshots were taken into (or set ${ENV_BACKUP_DIR})."
        )
