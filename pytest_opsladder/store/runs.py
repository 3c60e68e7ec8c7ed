"""Writing and reading run records in the store, redacted before they touch the disk (level 7).

A stored run is the same cassette envelope tests use (``cassette/files.py``), so a production
run can be replayed, diffed and promoted to the nightmare set as it is. Every string of it goes
through the secret scanner first (:mod:`pytest_opsladder.secrets`): credentials never reach
the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_opsladder.cassette import files
from pytest_opsladder.exceptions import CassetteError
from pytest_opsladder.store.errors import StoreError, StoreWriteError
from pytest_opsladder.store.index import (
    dumps_entry,
    entry_for,
    entry_path,
    iter_index_lines,
    parse_line,
)
from pytest_opsladder.store.layout import index_path, run_path, store_target
from pytest_opsladder.store.locking import append_jsonl_holding_lock, locked


def redacted(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with every credential the scanner finds masked (level-3 key rules, the shared
    pattern registry, credential-named fields, encoded forms, split streams): a production run
    is kept, its secrets are not."""
    from pytest_opsladder.secrets import redact_secrets

    result: dict[str, Any] = redact_secrets(run)
    return result


IndexIdentity = tuple[int, int] | None  # (device, inode) of index.jsonl, None when there is none
_NOT_TRACKED = (-1, -1)


def index_identity(store: Path) -> IndexIdentity:
    """Which index file the store has now: a reindex replaces it (a new inode), appends do not."""
    try:
        stat = index_path(store).stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def write_run(
    store: Path, run: dict[str, Any], *, index: bool, index_at_start: IndexIdentity = _NOT_TRACKED
) -> Path:
    """Write a run record atomically under its date folder; index it when it has ended.

    The final write and its index line happen under the index's lock, together: a reindex
    (which lists the run files under the same lock) then sees the run either as a file it
    indexes or as a line appended after it wrote the index, never neither. A reindex while the
    run was in flight indexed it as ``incomplete``; ``index_at_start`` (the index's identity
    when the run's first record was written) tells, and that line is replaced, not doubled."""
    clean = redacted(run)
    target = store_target(store)
    entry = entry_for(clean)
    path = run_path(store, entry_path(entry))
    envelope = {"format": files.FORMAT, "schema_version": files.SCHEMA_VERSION, "run": clean}
    text = json.dumps(envelope, sort_keys=True, indent=1) + "\n"
    if not index:
        files.atomic_write_text(path, text, target)
        return path
    with locked(index_path(store), target):
        files.atomic_write_text(path, text, target)
        try:
            if index_at_start != _NOT_TRACKED and index_identity(store) != index_at_start:
                _drop_lines_of(store, str(entry["run_id"]))
            append_jsonl_holding_lock(index_path(store), [entry], target)
        except StoreWriteError as exc:
            raise StoreWriteError(
                f"{exc} The run itself is saved at {path}; once the store is fixed, "
                f"`opsladder sample --store {store} --reindex` indexes it.",
                path=exc.path,
            ) from None
    return path


def _drop_lines_of(store: Path, run_id: str) -> None:
    """Rewrite the index without the lines of ``run_id`` (under the index's lock; only after a
    reindex that ran while the run was in flight, so rare and never on the hot path)."""
    path = index_path(store)
    needle = json.dumps(run_id).encode()
    kept: list[bytes] = []
    dropped = False
    for line in iter_index_lines(path):
        if needle in line:
            entry = parse_line(line, 0, None)
            if entry is not None and entry.get("run_id") == run_id:
                dropped = True
                continue
        kept.append(line if line.endswith(b"\n") else line + b"\n")
    if dropped:
        text = b"".join(kept).decode("utf-8", errors="replace")
        files.atomic_write_text(path, text, store_target(store))


def load_run(store: Path, relpath: str) -> dict[str, Any]:
    """The run record at ``relpath`` of the store (a dict, ``Run.to_dict()`` form)."""
    path = run_path(store, relpath)
    if not path.resolve().is_relative_to(store.resolve()):
        raise StoreError(f"run path {relpath!r} points outside the store {store}.", path=path)
    run: dict[str, Any] = files.load_envelope(path)["run"]
    return run


def iter_run_files(store: Path) -> Iterator[Path]:
    """Every run file of the store, date folders in order."""
    for day in sorted(p for p in store.iterdir() if p.is_dir() and p.name[:4].isdigit()):
        yield from sorted(day.glob("*.json"))


@dataclass(frozen=True)
class Reindexed:
    """What a reindex did: the runs now in the index, and the run files it could not read
    (each with the reason), which are left where they are and are not in the index."""

    indexed: int
    skipped: tuple[tuple[Path, str], ...] = ()


def reindex(store: Path) -> Reindexed:
    """Rebuild the index from the run files (after a crash or a manual cleanup). A run file
    that cannot be read (corrupt, truncated, of an unknown schema, a FIFO, a broken link) is
    skipped and listed: one bad file must not keep every other run out of the index."""
    if not store.is_dir():  # a typo must not leave an empty index behind, or a traceback
        raise StoreError(
            f"no run store at {store}/ to reindex. Pass --store DIR, the directory "
            "capture(store=...) writes to, or set $OPSLADDER_STORE.",
            path=store,
        )
    listed, skipped = _read_run_files(store, {})
    path = index_path(store)
    with locked(path):  # runs that ended while the files were read are in the second pass
        final, skipped = _read_run_files(store, listed)
        entries = [entry for _, entry in final.values()]
        files.atomic_write_text(path, "".join(dumps_entry(e) for e in entries), store_target(store))
    return Reindexed(len(entries), tuple(skipped))


_Listed = dict[Path, tuple[tuple[int, int], dict[str, Any]]]  # file -> (mtime_ns, size), entry


def _read_run_files(store: Path, known: _Listed) -> tuple[_Listed, list[tuple[Path, str]]]:
    """The index entry of every run file, reusing ``known`` entries of files unchanged since
    (same mtime and size), and the files that could not be read, each with the reason."""
    listed: _Listed = {}
    skipped: list[tuple[Path, str]] = []
    for run_file in iter_run_files(store):
        try:
            stat = run_file.stat()
            signature = (stat.st_mtime_ns, stat.st_size)
        except OSError:  # a broken link is read (and reported); a file removed since is gone
            if not run_file.is_symlink():
                continue
            signature = (-1, -1)
        previous = known.get(run_file)
        if previous is not None and previous[0] == signature:
            listed[run_file] = previous
            continue
        try:
            listed[run_file] = (signature, entry_for(files.load_envelope(run_file)["run"]))
        except CassetteError as exc:
            skipped.append((run_file, str(exc)))
    return listed, skipped
