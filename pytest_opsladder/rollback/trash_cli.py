"""``opsladder trash list | restore ID [--to PATH] | empty --older-than 7d`` (ladder level 5)."""

from __future__ import annotations

import argparse
from typing import Any

from pytest_opsladder._visible import field_line
from pytest_opsladder.rollback.trash import ENV_TRASH_DIR, Trash, parse_duration


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("trash", help="list, restore and empty the trash (level 5)")
    parser.add_argument(
        "--dir",
        default=None,
        metavar="DIR",
        help=f"the trash directory (default: ${ENV_TRASH_DIR} or .opsladder/trash)",
    )
    sub = parser.add_subparsers(dest="trash_command", metavar="ACTION", required=True)
    sub.add_parser("list", help="list trashed items, oldest first").set_defaults(func=_list)
    restore = sub.add_parser("restore", help="put a trashed item back where it was")
    restore.add_argument("entry", help="the entry id shown by `opsladder trash list`")
    restore.add_argument("--to", default=None, help="restore here instead of the original path")
    restore.set_defaults(func=_restore)
    empty = sub.add_parser("empty", help="delete for good the items older than a duration")
    empty.add_argument("--older-than", required=True, help="e.g. 7d, 12h, 30m, 45s, 2w")
    empty.set_defaults(func=_empty)


def _list(args: argparse.Namespace) -> int:
    trash = Trash(args.dir)
    entries, damaged = trash.entries(), trash.damaged()
    for e in entries:
        print(field_line(e.id, e.deleted_at, e.kind, e.run_id or "-", e.original))
    for d in damaged:
        print(field_line(d.id, f"DAMAGED: {d.reason}; restore with --to PATH"))
    if not entries and not damaged:
        where = "" if trash.root.is_dir() else f" (there is no trash directory at {trash.root})"
        print("the trash is empty" + where)
    return 0


def _restore(args: argparse.Namespace) -> int:
    target = Trash(args.dir).restore(args.entry, to=args.to)
    print(f"restored {args.entry} to {target}")
    return 0


def _empty(args: argparse.Namespace) -> int:
    trash = Trash(args.dir)
    gone = trash.empty(parse_duration(args.older_than))
    trash.repair()
    print(f"emptied {len(gone)} item(s) trashed more than {args.older_than} ago")
    kept = trash.damaged()
    if kept:
        print(f"kept {len(kept)} damaged item(s) (metadata unusable): see `opsladder trash list`")
    return 0
