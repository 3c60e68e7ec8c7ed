"""``opsladder idempotency list|show|clear``: inspect and clear an idempotency store (level 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from pytest_opsladder.idempotency.errors import IdempotencyConfigError
from pytest_opsladder.idempotency.records import Record
from pytest_opsladder.idempotency.store import open_backend


def register(sub: Any) -> None:
    parser = sub.add_parser("idempotency", help="inspect the idempotency store (level 2)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per key: status, age, takeovers")
    _store_arg(listing)
    listing.add_argument("--prefix", default="", help="only keys starting with this")
    listing.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="print one key's record as JSON")
    _store_arg(show)
    show.add_argument("key")
    show.set_defaults(func=_show)
    clear = actions.add_parser("clear", help="delete keys so that they execute again")
    _store_arg(clear)
    which = clear.add_mutually_exclusive_group(required=True)
    which.add_argument("--key", help="exactly this key")
    which.add_argument("--prefix", help="every key starting with this (e.g. a workflow 'wf:')")
    which.add_argument("--all", action="store_true", help="every key in the store")
    clear.set_defaults(func=_clear)


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite file, sqlite:///path, or redis://host:port/db")


def _line(rec: Record) -> str:
    when = dt.datetime.fromtimestamp(rec.updated_at, dt.UTC).isoformat(timespec="seconds")
    return f"{rec.status.value:<12} {when}  takeovers={rec.takeovers}  {rec.key}"


def _list(args: argparse.Namespace) -> int:
    records = open_backend(args.store).records(args.prefix)
    for rec in records:
        print(json.dumps(rec.to_dict(), sort_keys=True) if args.json else _line(rec))
    if not args.json:
        print(f"{len(records)} key(s)")
    return 0


def _show(args: argparse.Namespace) -> int:
    rec = open_backend(args.store).get(args.key)
    if rec is None:
        raise IdempotencyConfigError(
            f"no key {args.key!r} in {args.store}; list the keys with "
            f"`opsladder idempotency list {args.store}`."
        )
    print(json.dumps(rec.to_dict(), sort_keys=True, indent=1))
    return 0


def _clear(args: argparse.Namespace) -> int:
    backend = open_backend(args.store)
    if args.key is not None:
        count = int(backend.delete(args.key))
    else:
        count = backend.clear("" if args.all else args.prefix)
    print(f"cleared {count} key(s)")
    return 0
