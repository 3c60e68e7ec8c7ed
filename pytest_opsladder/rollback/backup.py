"""Backups and the last known good (ladder level 5): snapshot before a run changes anything.

:meth:`Backups.snapshot` copies a file, a directory tree (symlinks kept as links) or a SQLite
database (through the sqlite3 backup API, so a live database with open connections and a WAL
is copied consistently, which a file copy is not). Snapshots are kept per artifact, newest
last; a snapshot is "good" until marked bad, and :meth:`Backups.restore` puts back the newest
good one. Restores are atomic for files (temp + rename) and SQLite (backup API into the live
database); a directory is swapped in by rename, its previous content kept aside until done.
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
        if snap.kind is ArtifactKind.SQLITE:
            _restore_sqlite(snap.data, target)
        elif snap.kind is ArtifactKind.DIRECTORY:
            _restore_dir(snap.data, target)
        else:
            _restore_file(snap.data, target)
        emit(ev.BACKUP, snap.source, {"snapshot": snap.id, "action": "restored"})
        return snap

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


def _restore_sqlite(data: Path, target: Path) -> None:
    """Copy the snapshot into the live database in one transaction (readers see old or new)."""
    source = sqlite3.connect(f"file:{data}?mode=ro", uri=True)
    live = sqlite3.connect(target, timeout=30)
    try:
        source.backup(live)
    finally:
        live.close()
        source.close()
