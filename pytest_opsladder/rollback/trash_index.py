"""The trash's index on disk (ladder level 5): each entry's ``meta.json``, read strictly.

The index is the entries' metadata files. When one is deleted, corrupt, of the wrong type or
unreadable while its item is still in the trash, the entry is *damaged*, not gone: it is listed
as such, kept by ``empty`` (nothing is deleted for good that cannot be accounted for), and
restorable only to a path the user names (``--to``), since its original path is unknown.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

ITEM, META = "item", "meta.json"
_MAX_META_BYTES = 1 << 20  # a real meta.json is a few hundred bytes


class TrashKind(StrEnum):
    """What was trashed (a symlink is moved as the link, never its target)."""

    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class TrashEntry:
    """One trashed item and where it came from."""

    id: str
    original: str
    deleted_at: str
    run_id: str | None
    kind: TrashKind
    size: int
    sha256: str | None
    entry_dir: str

    @property
    def item(self) -> Path:
        return Path(self.entry_dir) / ITEM


@dataclass(frozen=True)
class DamagedEntry:
    """An entry whose item is in the trash but whose metadata cannot be trusted."""

    id: str
    entry_dir: str
    reason: str

    @property
    def item(self) -> Path:
        return Path(self.entry_dir) / ITEM


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_entry(entry_dir: Path) -> TrashEntry | DamagedEntry:
    """The entry in ``entry_dir``, or why its metadata is unusable."""
    try:
        raw = json.loads(_read_meta(entry_dir / META))
        return _entry(raw, entry_dir)
    except FileNotFoundError:
        return DamagedEntry(entry_dir.name, str(entry_dir), "its meta.json is missing")
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return DamagedEntry(entry_dir.name, str(entry_dir), f"its meta.json is unusable: {why}")


def _read_meta(path: Path) -> bytes:
    """Read without following links or blocking on a FIFO; only a regular file is metadata."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_META_BYTES:
            raise ValueError("not a regular file of metadata")
        return os.read(fd, _MAX_META_BYTES)
    finally:
        os.close(fd)


def _entry(raw: Any, entry_dir: Path) -> TrashEntry:
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    entry = TrashEntry(**raw, entry_dir=str(entry_dir))
    kind = TrashKind(entry.kind)
    checks = {
        "original": isinstance(entry.original, str) and os.path.isabs(entry.original),
        "deleted_at": isinstance(entry.deleted_at, str) and _is_utc(entry.deleted_at),
        "run_id": entry.run_id is None or isinstance(entry.run_id, str),
        "size": type(entry.size) is int and entry.size >= 0,
        "sha256": (entry.sha256 is None) is (kind is not TrashKind.FILE)
        and (entry.sha256 is None or isinstance(entry.sha256, str)),
        "id": entry.id == entry_dir.name,
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(f"field(s) {', '.join(bad)} hold invalid values")
    return TrashEntry(**{**raw, "kind": kind}, entry_dir=str(entry_dir))


def _is_utc(text: str) -> bool:
    try:
        return parse_utc(text).tzinfo is not None
    except ValueError:
        return False


def item_kind(path: Path) -> TrashKind:
    if path.is_symlink():
        return TrashKind.SYMLINK
    return TrashKind.DIRECTORY if path.is_dir() else TrashKind.FILE
