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
from dataclasses import asdict
from pathlib import Path

from pytest_opsladder.capture.run import current_run, emit
from pytest_opsladder.rollback import events as ev
from pytest_opsladder.rollback.errors import (
    PartialTrashError,
    RestoreConflictError,
    RollbackConfigError,
    TrashError,
)
from pytest_opsladder.rollback.trash_index import (
    ITEM,
    META,
    DamagedEntry,
    TrashEntry,
    TrashKind,
    item_kind,
    load_entry,
    parse_utc,
)

__all__ = ["DamagedEntry", "Trash", "TrashEntry", "TrashKind", "parse_duration", "parse_utc"]

ENV_TRASH_DIR = "OPSLADDER_TRASH_DIR"
DEFAULT_TRASH_DIR = ".opsladder/trash"
_ITEM, _META = ITEM, META
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
        kind = item_kind(src)
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
        """Trashed items, oldest first (orphans and damaged entries are left out)."""
        found = [e for e in self._scan() if isinstance(e, TrashEntry)]
        return sorted(found, key=lambda e: e.deleted_at)

    def damaged(self) -> list[DamagedEntry]:
        """Items in the trash whose metadata is missing, corrupt or unreadable: kept, and
        restorable with ``restore(id, to=PATH)``."""
        return [e for e in self._scan() if isinstance(e, DamagedEntry)]

    def _scan(self) -> list[TrashEntry | DamagedEntry]:
        return [load_entry(d) for d in self._dirs() if os.path.lexists(d / _ITEM)]

    def orphans(self) -> list[Path]:
        """Entry directories whose move never happened (a crash after the metadata write)."""
        return [d for d in self._dirs() if not os.path.lexists(d / _ITEM)]

    def _dirs(self) -> list[Path]:
        try:
            if not os.path.lexists(self.root):
                return []
            return [d for d in self.root.iterdir() if d.is_dir() and not d.is_symlink()]
        except OSError as exc:
            raise TrashError(
                f"cannot read the trash {str(self.root)!r}: {exc}. It must be a readable "
                f"directory; pass the right one with --dir (or ${ENV_TRASH_DIR}).",
                path=self.root,
            ) from exc

    def get(self, entry_id: str) -> TrashEntry:
        entry = self._find(entry_id)
        if isinstance(entry, DamagedEntry):
            raise TrashError(
                f"trash entry {entry_id!r} is damaged ({entry.reason}), so where it came from "
                "is unknown; the item is kept. Restore it to a path you choose: "
                f"`opsladder trash restore {entry_id} --to PATH`.",
                path=entry.item,
            )
        return entry

    def _find(self, entry_id: str) -> TrashEntry | DamagedEntry:
        safe = entry_id and "/" not in entry_id and not entry_id.startswith(".")
        entry_dir = self.root / entry_id
        if safe and entry_dir.is_dir() and os.path.lexists(entry_dir / _ITEM):
            return load_entry(entry_dir)
        known = ", ".join(e.id for e in self.entries()[-5:]) or "(the trash is empty)"
        raise TrashError(
            f"no trash entry {entry_id!r} in {str(self.root)!r}. Recent entries: {known}. "
            "List them with `opsladder trash list`."
        )

    # -- restoring and emptying ------------------------------------------------------------
    def restore(self, entry: TrashEntry | str, to: str | Path | None = None) -> Path:
        """Put the item back where it was (or at ``to``), byte-identical; never overwrites."""
        entry_id = entry if isinstance(entry, str) else entry.id
        found = self._find(entry_id) if to is not None else self.get(entry_id)
        if isinstance(found, DamagedEntry):
            return self._restore_damaged(found, Path(os.path.abspath(to or "")))
        entry = found
        target = Path(os.path.abspath(to or entry.original))
        if os.path.lexists(target):
            raise RestoreConflictError(
                f"cannot restore trash entry {entry.id!r}: {str(target)!r} already exists and "
                "restoring never overwrites. Move it away, or restore elsewhere with --to PATH.",
                path=target,
            )
        if item_kind(entry.item) is not entry.kind or (
            entry.sha256 is not None and _sha256(entry.item) != entry.sha256
        ):
            raise TrashError(
                f"trash entry {entry.id!r} no longer matches the kind or sha256 recorded when it "
                "was trashed; it was changed inside the trash and is left there for inspection.",
                path=entry.item,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _move(entry.item, target)
        shutil.rmtree(entry.entry_dir, ignore_errors=True)
        emit(ev.TRASH, entry.original, {"entry": entry.id, "action": "restored"})
        return target

    def _restore_damaged(self, entry: DamagedEntry, target: Path) -> Path:
        if os.path.lexists(target):
            raise RestoreConflictError(
                f"cannot restore damaged trash entry {entry.id!r} to {str(target)!r}: it "
                "already exists and restoring never overwrites.",
                path=target,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _move(entry.item, target)
        shutil.rmtree(entry.entry_dir, ignore_errors=True)
        emit(ev.TRASH, str(target), {"entry": entry.id, "action": "restored", "damaged": True})
        return target

    def restore_all(self, entries: Iterable[TrashEntry]) -> list[Path]:
        return [self.restore(e) for e in entries]

    def empty(self, older_than: float = 0.0, *, now: dt.datetime | None = None) -> list[str]:
        """Delete for good the entries trashed more than ``older_than`` seconds ago (damaged
        entries are never among them: their age is unknown)."""
        try:
            cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=older_than)
        except OverflowError:
            return []  # before year 1: nothing was trashed that long ago
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
