"""Trash, not delete (ladder level 5): every delete is a move that can be undone.

Each trashed item gets its own entry directory, made with an exclusive ``mkdir`` whose name
holds a random id, so two deletes of ``report.txt`` (threads, processes, machines on a shared
disk) never collide. The metadata (original path, UTC time, run id, kind, sha256) is written
*before* the move, and an entry counts as trashed only once its ``item`` exists: a crash
between the two leaves the original untouched and an orphan entry that :meth:`Trash.repair`
removes. Items are moved with ``rename`` (the symlink itself, never its target), so a restore is
byte-identical, modes and times included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.run import current_run, emit
from pytest_opsladder.rollback import events as ev
from pytest_opsladder.rollback.errors import (
    PartialTrashError,
    RestoreConflictError,
    RollbackConfigError,
    TrashError,
)

ENV_TRASH_DIR = "OPSLADDER_TRASH_DIR"
DEFAULT_TRASH_DIR = ".opsladder/trash"
_ITEM, _META = "item", "meta.json"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"``, ``"2w"`` -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise RollbackConfigError(
            f"duration {text!r} is not understood: write a number and a unit, e.g. 7d, 12h, "
            "30m, 45s or 2w."
        )
    return float(match.group(1)) * _SECONDS[match.group(2)]


def utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


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
        return Path(self.entry_dir) / _ITEM


def _kind(path: Path) -> TrashKind:
    if path.is_symlink():
        return TrashKind.SYMLINK
    return TrashKind.DIRECTORY if path.is_dir() else TrashKind.FILE


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _move(src: Path, dst: Path) -> None:
    """Rename (same filesystem: atomic); across filesystems copy then remove."""
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: the trash is on another filesystem
            raise
        shutil.move(os.fspath(src), os.fspath(dst), copy_function=shutil.copy2)


class Trash:
    """A trash directory: :meth:`delete`, :meth:`restore`, :meth:`entries`, :meth:`empty`."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root or os.environ.get(ENV_TRASH_DIR) or DEFAULT_TRASH_DIR).absolute()

    # -- deleting -------------------------------------------------------------------------
    def delete(self, path: str | Path, *, now: dt.datetime | None = None) -> TrashEntry:
        """Move ``path`` (file, directory or symlink, even dangling) into the trash."""
        src = Path(os.path.abspath(path))
        if not os.path.lexists(src):
            raise TrashError(f"cannot trash {str(src)!r}: nothing is there.", path=src)
        entry_dir = self._new_entry_dir(src)
        try:
            entry = self._write_meta(src, entry_dir, now or dt.datetime.now(dt.UTC))
            _move(src, entry.item)
        except OSError as exc:
            shutil.rmtree(entry_dir, ignore_errors=True)
            raise TrashError(
                f"cannot trash {str(src)!r} into {str(self.root)!r}: {exc}. The item was left "
                "where it was; make the trash directory writable or choose another one.",
                path=src,
            ) from exc
        emit(ev.TRASH, entry.original, {"entry": entry.id, "action": "trashed"})
        return entry

    def _new_entry_dir(self, src: Path) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", src.name)[:48] or "item"
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            entry_dir = self.root / f"{stamp}-{uuid.uuid4().hex[:16]}-{safe}"
            entry_dir.mkdir()  # exclusive: fails rather than share an entry
        except OSError as exc:
            raise TrashError(
                f"cannot trash {str(src)!r}: the trash {str(self.root)!r} is not writable "
                f"({exc}). Nothing was moved; fix its permissions or use another trash "
                f"(${ENV_TRASH_DIR}).",
                path=src,
            ) from exc
        return entry_dir

    def _write_meta(self, src: Path, entry_dir: Path, now: dt.datetime) -> TrashEntry:
        kind = _kind(src)
        run = current_run()
        entry = TrashEntry(
            id=entry_dir.name,
            original=str(src),
            deleted_at=utc_iso(now),
            run_id=run.run_id if run else None,
            kind=kind,
            size=src.lstat().st_size,
            sha256=_sha256(src) if kind is TrashKind.FILE else None,
            entry_dir=str(entry_dir),
        )
        meta = {k: v for k, v in asdict(entry).items() if k != "entry_dir"}
        tmp = entry_dir / (_META + ".tmp")
        tmp.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, entry_dir / _META)
        return entry

    def delete_many(self, paths: Iterable[str | Path]) -> list[TrashEntry]:
        """Trash each path in turn; on a failure everything already trashed stays restorable."""
        done: list[TrashEntry] = []
        for path in paths:
            try:
                done.append(self.delete(path))
            except BaseException as exc:
                raise PartialTrashError(
                    f"trashing stopped at {str(path)!r} ({exc}); {len(done)} item(s) before it "
                    "are in the trash and restorable (error.trashed, or trash.restore(id)); "
                    "the rest were not touched.",
                    path=Path(path),
                    trashed=done,
                    cause=exc,
                ) from exc
        return done

    # -- reading --------------------------------------------------------------------------
    def entries(self) -> list[TrashEntry]:
        """Trashed items, oldest first (orphans of an interrupted delete are left out)."""
        found = [self._load(d) for d in self._dirs() if os.path.lexists(d / _ITEM)]
        return sorted((e for e in found if e is not None), key=lambda e: e.deleted_at)

    def orphans(self) -> list[Path]:
        """Entry directories whose move never happened (a crash after the metadata write)."""
        return [d for d in self._dirs() if not os.path.lexists(d / _ITEM)]

    def _dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [d for d in self.root.iterdir() if d.is_dir() and not d.is_symlink()]

    def _load(self, entry_dir: Path) -> TrashEntry | None:
        try:
            raw: dict[str, Any] = json.loads((entry_dir / _META).read_text(encoding="utf-8"))
            raw["kind"] = TrashKind(raw["kind"])
            return TrashEntry(**raw, entry_dir=str(entry_dir))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def get(self, entry_id: str) -> TrashEntry:
        safe = entry_id and "/" not in entry_id and not entry_id.startswith(".")
        entry = self._load(self.root / entry_id) if safe else None
        if entry is None or not os.path.lexists(entry.item):
            known = ", ".join(e.id for e in self.entries()[-5:]) or "(the trash is empty)"
            raise TrashError(
                f"no trash entry {entry_id!r} in {str(self.root)!r}. Recent entries: {known}. "
                "List them with `opsladder trash list`."
            )
        return entry

    # -- restoring and emptying ------------------------------------------------------------
    def restore(self, entry: TrashEntry | str, to: str | Path | None = None) -> Path:
        """Put the item back where it was (or at ``to``), byte-identical; never overwrites."""
        entry = self.get(entry if isinstance(entry, str) else entry.id)
        target = Path(os.path.abspath(to or entry.original))
        if os.path.lexists(target):
            raise RestoreConflictError(
                f"cannot restore trash entry {entry.id!r}: {str(target)!r} already exists and "
                "restoring never overwrites. Move it away, or restore elsewhere with --to PATH.",
                path=target,
            )
        if entry.sha256 is not None and _sha256(entry.item) != entry.sha256:
            raise TrashError(
                f"trash entry {entry.id!r} no longer matches the sha256 recorded when it was "
                "trashed; it was changed inside the trash and is left there for inspection.",
                path=entry.item,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _move(entry.item, target)
        shutil.rmtree(entry.entry_dir, ignore_errors=True)
        emit(ev.TRASH, entry.original, {"entry": entry.id, "action": "restored"})
        return target

    def restore_all(self, entries: Iterable[TrashEntry]) -> list[Path]:
        return [self.restore(e) for e in entries]

    def empty(self, older_than: float = 0.0, *, now: dt.datetime | None = None) -> list[str]:
        """Delete for good the entries trashed more than ``older_than`` seconds ago."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=older_than)
        gone = [e for e in self.entries() if parse_utc(e.deleted_at) <= cutoff]
        for entry in gone:
            shutil.rmtree(entry.entry_dir)
        return [e.id for e in gone]

    def repair(self) -> list[Path]:
        """Remove orphan entries (metadata written, move never done); originals are untouched."""
        orphans = self.orphans()
        for orphan in orphans:
            shutil.rmtree(orphan, ignore_errors=True)
        return orphans
