"""``opsladder idempotency list|show|clear|release``: inspect and free keys (level 2).

``list`` and ``show`` print each key's *effective* status: a started lock that expired without a
record reads ``completed_unrecorded``, as callers see it. A key still locked in progress also
says what is known of its holder: alive on this host (still working: its side effect may be
yet to come), crashed (this host, process gone), or "in flight or crashed" (another host).
``release`` is the one documented way to free a ``completed_unrecorded`` key once an operator
has checked whether its side effect happened; it refuses any other key (``clear`` deletes keys
whatever their state), refuses while the holder is alive on this host unless ``--force``, and
deletes only the exact record it inspected (``--holder`` pins the one ``list`` showed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pytest_opsladder._visible import field
from pytest_opsladder.exceptions import OpsladderError
from pytest_opsladder.idempotency.errors import (
    IdempotencyConfigError,
    IdempotencyStoreError,
    ReleaseRefusedError,
)
from pytest_opsladder.idempotency.holders import Liveness, holder_process, liveness
from pytest_opsladder.idempotency.records import Backend, Record, Status
from pytest_opsladder.idempotency.store import open_backend, sqlite_file

R = TypeVar("R")


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
    release = actions.add_parser(
        "release", help="free a completed_unrecorded key so that the next call executes it"
    )
    _store_arg(release)
    release.add_argument("key")
    release.add_argument(
        "--holder", help="only if the key is still held by this holder id (from list --json)"
    )
    release.add_argument(
        "--force",
        action="store_true",
        help="release even though the holder still runs on this host (it may do the effect)",
    )
    release.set_defaults(func=_release)


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("store", help="a SQLite file, sqlite:///path, or redis://host:port/db")


def _guarded(store: str, what: Callable[[Backend], R]) -> R:
    """Open the store and run ``what``; a store failing midway is a named error, not a trace."""
    path = sqlite_file(store)
    if path is not None and str(path) and not os.path.lexists(path):
        # creating it would show a mistyped path as an empty store ("0 key(s)", "cleared 0")
        raise IdempotencyConfigError(
            f"no idempotency store at {str(path)!r}: the file does not exist, and this command "
            "never creates one. Pass the store your jobs use (the path or sqlite:/// URL they "
            "give IdempotencyStore)."
        )
    backend = open_backend(store)
    try:
        return what(backend)
    except OpsladderError:  # a store error, or a refusal worded for the operator
        raise
    except Exception as exc:  # redis / sqlite3 / OSError: the store failed under us
        raise IdempotencyStoreError(
            f"the idempotency store {store!r} failed: {type(exc).__name__}: {exc}. Bring it "
            "back (redis-server up, disk space, file permissions) and run the command again."
        ) from exc
    finally:
        backend.close()


def _as_seen(rec: Record, now: float) -> dict[str, Any]:
    out = rec.to_dict()
    out["status"] = rec.effective_status(now).value
    if rec.status is Status.IN_PROGRESS:
        out["holder_state"] = liveness(rec.holder).value
    return out


def _iso(when: float) -> str:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="seconds")


def _line(rec: Record, now: float) -> str:
    status = rec.effective_status(now).value
    line = f"{status:<20} {_iso(rec.updated_at)}  takeovers={rec.takeovers}  {field(rec.key)}"
    holder = _holder_note(rec, now)
    return f"{line}\n{'':<21}{holder}" if holder else line


def _holder_note(rec: Record, now: float) -> str:
    """What is known of an in-progress key's holder, for the operator deciding on release."""
    if rec.status is not Status.IN_PROGRESS:
        return ""
    lock = "lock expired" if rec.locked_until <= now else "lock held until"
    lock += f" {_iso(rec.locked_until)}"
    state, who = liveness(rec.holder), _who(rec)
    if state is Liveness.ALIVE:
        return f"holder {who} is alive: still running, its side effect may be yet to come ({lock})"
    if state is Liveness.CRASHED:
        return f"holder {who} is gone: crashed ({lock})"
    return f"in flight or crashed: holder {who} ({lock})"


def _who(rec: Record) -> str:
    process = holder_process(rec.holder)
    if process is None:
        return repr(rec.holder)
    return f"pid {process.pid} on {process.host or 'an unrecorded host'}"


def _list(args: argparse.Namespace) -> int:
    records = _guarded(args.store, lambda b: b.records(args.prefix))
    now = time.time()
    for rec in records:
        print(json.dumps(_as_seen(rec, now), sort_keys=True) if args.json else _line(rec, now))
    if not args.json:
        unrecorded = sum(r.effective_status(now) is Status.COMPLETED_UNRECORDED for r in records)
        tail = f", {unrecorded} completed_unrecorded (see `release`)" if unrecorded else ""
        print(f"{len(records)} key(s){tail}")
    return 0


def _missing(args: argparse.Namespace) -> IdempotencyConfigError:
    return IdempotencyConfigError(
        f"no key {args.key!r} in {args.store}; list the keys with "
        f"`opsladder idempotency list {args.store}`."
    )


def _show(args: argparse.Namespace) -> int:
    rec = _guarded(args.store, lambda b: b.get(args.key))
    if rec is None:
        raise _missing(args)
    print(json.dumps(_as_seen(rec, time.time()), sort_keys=True, indent=1))
    return 0


def _clear(args: argparse.Namespace) -> int:
    def clear(backend: Backend) -> int:
        if args.key is not None:
            return int(backend.delete(args.key))
        return backend.clear("" if args.all else args.prefix)

    print(f"cleared {_guarded(args.store, clear)} key(s)")
    return 0


def _release(args: argparse.Namespace) -> int:
    def release(backend: Backend) -> Record | None:
        rec = backend.get(args.key)
        if rec is not None and _releasable(args, rec) and not backend.release_record(rec):
            raise _changed(args, "it changed while being released")
        return rec

    if _guarded(args.store, release) is None:
        raise _missing(args)
    print(f"released {field(args.key)}: the next call with this key executes its action")
    return 0


def _releasable(args: argparse.Namespace, rec: Record) -> bool:
    """Raise unless ``rec`` may be released: unrecorded, the expected holder, not alive here."""
    status = rec.effective_status(time.time())
    if status is not Status.COMPLETED_UNRECORDED:
        raise IdempotencyConfigError(
            f"key {args.key!r} is {status.value}, not completed_unrecorded; `release` only frees "
            "keys whose outcome is unknown. Use `opsladder idempotency clear --key` to delete "
            "a key whatever its state."
        )
    if args.holder is not None and rec.holder != args.holder:
        raise _changed(args, f"it is now held by {rec.holder!r}, not {args.holder!r}")
    if rec.status is Status.IN_PROGRESS and liveness(rec.holder) is Liveness.ALIVE:
        if not args.force:
            raise ReleaseRefusedError(
                f"key {args.key!r} was not released: its holder, {_who(rec)}, still runs on "
                "this host and may yet do the side effect, so releasing it could run the action "
                "twice. Wait for it to finish (or stop it), or pass --force.",
                key=args.key,
            )
        print(
            f"opsladder: warning: releasing {args.key} while its holder still runs "
            "(--force): if it completes its side effect, the next call may repeat it",
            file=sys.stderr,
        )
    return True


def _changed(args: argparse.Namespace, how: str) -> ReleaseRefusedError:
    return ReleaseRefusedError(
        f"key {args.key!r} was not released: {how}. Look at it again with "
        f"`opsladder idempotency show {args.store} {args.key}` and release what you see.",
        key=args.key,
    )
