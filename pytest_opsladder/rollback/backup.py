"""Backups and the last known good (ladder level 5): snapshot before a run changes anything.

:meth:`Backups.snapshot` copies a file, a directory tree (symlinks kept as links) or a SQLite
database (through the sqlite3 backup API, so a live database with open connections and a WAL
is copied consistently, which a file copy is not). Snapshots are kept per artifact, newest
last; a snapshot is "good" until marked bad, and :meth:`Backups.restore` puts back the newest
good one. Restores are atomic for files (temp + rename) and SQLite (backup API into the live
database); a directory is swapped in by rename, its previous content kept aside until done.

A SQLite database the run damaged (header overwritten, truncated, replaced by another file, or
deleted) cannot take the backup API, which must open it first: it is replaced as a file
instead (the snapshot copied to a temporary database beside it, fsynced, renamed over it), and
the damaged database with its ``-wal``/``-shm``/``-journal`` files is kept beside it as
``<name>.corrupt-<time>-<id>`` (nothing recorded is lost). Any failure to restore is a
:class:`BackupError` naming the file; the snapshot is never changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from pytest_opsladder import _json
from pytest_opsladder.capture.run import current_run, emit
from pytest_opsladder.rollback import events as ev
from pytest_opsladder.rollback.errors import BackupError

ENV_BACKUP_DIR = "OPSLADDER_BACKUP_DIR"
DEFAULT_BACKUP_DIR = ".opsladder/backups"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_DAMAGED = {11, 26}  # primary result codes SQLITE_CORRUPT, SQLITE_NOTADB
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class ArtifactKind(StrEnum):
    """What a snapshot holds."""

    FILE = "file"
    DIRECTORY = "directory"
    SQLITE = "sqlite"


@dataclass(frozen=True)
class Snapshot:
    """One saved state of one artifact."""

    id: str
    source: str
    kind: ArtifactKind
    taken_at: str
    run_id: str | None
    good: bool
    dir: str

    @property
    def data(self) -> Path:
        return Path(self.dir) / "data"


def artifact_kind(path: Path) -> ArtifactKind:
    if path.is_dir():
        return ArtifactKind.DIRECTORY
    with path.open("rb") as fh:
        return ArtifactKind.SQLITE if fh.read(16) == _SQLITE_MAGIC else ArtifactKind.FILE


def _key(source: Path) -> str:
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:16]
    return f"{source.name[:40]}-{digest}"


def _sqlite_copy(src: Path, dst: Path) -> None:
    """Copy a SQLite database consistently, even while others have it open."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


class Backups:
    """Snapshots of artifacts under ``root``, one folder per artifact."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root or os.environ.get(ENV_BACKUP_DIR) or DEFAULT_BACKUP_DIR).absolute()
        self.kept_aside: Path | None = None  # where the last restore kept a damaged database

    def snapshot(self, path: str | Path) -> Snapshot:
        """Save the current state of ``path`` (file, directory or SQLite database)."""
        source = Path(path).absolute()
        if not source.exists():
            raise BackupError(
                f"cannot snapshot {str(source)!r}: it does not exist. Snapshot an artifact "
                "before the run changes it, not after it is gone."
            )
        kind = artifact_kind(source)
        now = dt.datetime.now(dt.UTC)
        snap_dir = self.root / _key(source) / f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        snap_dir.mkdir(parents=True)
        self._copy_in(source, kind, snap_dir / "data")
        run = current_run()
        snap = Snapshot(
            snap_dir.name,
            str(source),
            kind,
            now.isoformat().replace("+00:00", "Z"),
            run.run_id if run else None,
            True,
            str(snap_dir),
        )
        self._save_meta(snap)
        emit(ev.BACKUP, snap.source, {"snapshot": snap.id, "action": "snapshot", "kind": kind})
        return snap

    def _copy_in(self, source: Path, kind: ArtifactKind, dst: Path) -> None:
        if kind is ArtifactKind.DIRECTORY:
            shutil.copytree(source, dst, symlinks=True)
        elif kind is ArtifactKind.SQLITE:
            _sqlite_copy(source, dst)
        else:
            shutil.copy2(source, dst)

    def _save_meta(self, snap: Snapshot) -> None:
        meta = {k: v for k, v in asdict(snap).items() if k != "dir"}
        tmp = Path(snap.dir) / "meta.json.tmp"
        tmp.write_text(json.dumps(meta, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, Path(snap.dir) / "meta.json")

    def snapshots(self, path: str | Path) -> list[Snapshot]:
        """Every complete snapshot of ``path``, oldest first."""
        folder = self.root / _key(Path(path).absolute())
        if not folder.is_dir():
            return []
        found = [self._load(d) for d in sorted(folder.iterdir())]
        return [s for s in found if s is not None]

    def _load(self, snap_dir: Path) -> Snapshot | None:
        try:
            raw = _json.parse((snap_dir / "meta.json").read_text(encoding="utf-8"))
            raw["kind"] = ArtifactKind(raw["kind"])
            return Snapshot(**raw, dir=str(snap_dir))
        except (OSError, ValueError, TypeError, KeyError):
            return None  # a snapshot interrupted before its metadata was written

    def last_good(self, path: str | Path) -> Snapshot:
        good = [s for s in self.snapshots(path) if s.good]
        if not good:
            raise BackupError(
                f"no good snapshot of {str(Path(path).absolute())!r} in {str(self.root)!r}: "
                "take one with Backups.snapshot(path) (or the opsladder_backups fixture) before "
                "the run changes it."
            )
        return good[-1]

    def mark_bad(self, snap: Snapshot) -> Snapshot:
        """Exclude a snapshot from :meth:`restore` (it captured a state that was already bad)."""
        bad = Snapshot(**{**asdict(snap), "good": False})
        self._save_meta(bad)
        return bad

    def restore(self, path: str | Path, snapshot: Snapshot | None = None) -> Snapshot:
        """Put back the last known good state of ``path`` (or the given snapshot)."""
        snap = snapshot or self.last_good(path)
        target = Path(snap.source)
        try:
            self.kept_aside = self._put_back(snap, target)
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(
                f"cannot restore {str(target)!r} from snapshot {snap.id} ({snap.dir}): {exc}. "
                "The snapshot is unchanged: stop the process holding the file if it is locked, "
                "make its directory writable or move away what is at the path, and restore "
                "again (or pick an older snapshot with --list if this one is unreadable)."
            ) from exc
        data = {"snapshot": snap.id, "action": "restored"}
        if self.kept_aside is not None:
            data["damaged_kept_at"] = str(self.kept_aside)
        emit(ev.BACKUP, snap.source, data)
        return snap

    def _put_back(self, snap: Snapshot, target: Path) -> Path | None:
        """Restore ``snap`` at ``target``; returns where a damaged database was kept, if any."""
        if snap.kind is ArtifactKind.SQLITE:
            return _restore_sqlite(snap.data, target)
        if snap.kind is ArtifactKind.DIRECTORY:
            _restore_dir(snap.data, target)
        else:
            _restore_file(snap.data, target)
        return None

    @contextmanager
    def protect(self, path: str | Path) -> Iterator[Snapshot]:
        """Snapshot ``path``; if the block raises, restore it and re-raise."""
        snap = self.snapshot(path)
        try:
            yield snap
        except BaseException:
            self.restore(path, snap)
            raise


def _restore_file(data: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore-{uuid.uuid4().hex[:8]}")
    shutil.copy2(data, tmp)
    os.replace(tmp, target)


def _restore_dir(data: Path, target: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    fresh = target.with_name(f".{target.name}.restore-{tag}")
    aside = target.with_name(f".{target.name}.replaced-{tag}")
    shutil.copytree(data, fresh, symlinks=True)
    if os.path.lexists(target):
        os.rename(target, aside)
    os.rename(fresh, target)
    shutil.rmtree(aside, ignore_errors=True)


def _restore_sqlite(data: Path, target: Path) -> Path | None:
    """Copy the snapshot into the live database in one transaction (readers see old or new);
    a damaged or missing one is replaced as a file. Returns where a damaged one was kept."""
    if not _sqlite_readable(target):
        return _replace_damaged_sqlite(data, target)
    source = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    live = sqlite3.connect(target, timeout=30)
    try:
        source.backup(live)
    finally:
        live.close()
        source.close()
    return None


def _sqlite_readable(target: Path) -> bool:
    """Whether ``target`` is a database SQLite reads whole (``quick_check``); False when it is
    missing, not a database or corrupt. Anything else (locked, a directory) raises."""
    if not os.path.lexists(target):
        return False
    try:
        conn = sqlite3.connect(f"{target.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _SQLITE_DAMAGED:
            return False
        raise
    return row is not None and row[0] == "ok"


def _replace_damaged_sqlite(data: Path, target: Path) -> Path | None:
    """Write the snapshot to a temporary database beside ``target``, fsync it, keep the damaged
    files aside and rename it over ``target``; returns where the damaged database went."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    fresh = target.with_name(f".{target.name}.restore-{tag}")
    try:
        _sqlite_copy(data, fresh)  # through SQLite, so the snapshot's own WAL is included
        _fsync_path(fresh)
        kept = _keep_damaged_aside(target, target.with_name(f"{target.name}.corrupt-{tag}"))
        os.replace(fresh, target)
    finally:
        for leftover in (fresh, *(Path(f"{fresh}{side}") for side in _SQLITE_SIDE_FILES)):
            leftover.unlink(missing_ok=True)
    _fsync_path(target.parent)
    return kept


def _keep_damaged_aside(target: Path, aside: Path) -> Path | None:
    """Move the damaged database's journals to ``aside`` + suffix (a stale WAL must never be
    read into the restored database) and hard-link the database there, so it stays at
    ``target`` until the restored one replaces it. Returns ``aside``, or None if no database."""
    for side in _SQLITE_SIDE_FILES:
        if os.path.lexists(f"{target}{side}"):
            os.rename(f"{target}{side}", f"{aside}{side}")
    if not os.path.lexists(target):
        return None
    try:
        os.link(target, aside, follow_symlinks=False)
    except OSError:  # no hard links here: move it (the path is empty until the rename)
        os.rename(target, aside)
    return aside


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
