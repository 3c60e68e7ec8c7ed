"""``opsladder restore PATH [--backups DIR] [--list]``: back to the last known good (level 5)."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_opsladder.rollback.backup import ENV_BACKUP_DIR, Backups


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
    if args.list:
        for snap in backups.snapshots(args.path):
            print(f"{snap.id}\t{snap.taken_at}\t{snap.kind}\t{'good' if snap.good else 'bad'}")
        return 0
    snap = backups.restore(args.path)
    print(f"restored {snap.source} to snapshot {snap.id} taken {snap.taken_at} ({snap.kind})")
    if backups.kept_aside is not None:
        print(f"the damaged database was kept at {backups.kept_aside}")
    return 0
