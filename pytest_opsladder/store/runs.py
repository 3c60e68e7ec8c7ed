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
from pytest_opsladder.store.index import append_entries, dumps_entry, entry_for, entry_path
from pytest_opsladder.store.layout import index_path, run_path, store_target
from pytest_opsladder.store.locking import locked


def redacted(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with every credential the scanner finds masked (level-3 key rules, the shared
    pattern registry, credential-named fields, encoded forms, split streams): a production run
    is kept, its secrets are not."""
    from pytest_opsladder.secrets import redact_secrets

    result: dict[str, Any] = redact_secrets(run)
    return result


def write_run(store: Path, run: dict[str, Any], *, index: bool) -> Path:
    """Write a run record atomically under its date folder; index it when it has ended."""
    clean = redacted(run)
    target = store_target(store)
    entry = entry_for(clean)
    path = run_path(store, entry_path(entry))
    envelope = {"format": files.FORMAT, "schema_version": files.SCHEMA_VERSION, "run": clean}
    files.atomic_write_text(path, json.dumps(envelope, sort_keys=True, indent=1) + "\n", target)
    if index:
        try:
            append_entries(store, [entry])
        except StoreWriteError as exc:
            raise StoreWriteError(
                f"{exc} The run itself is saved at {path}; once the store is fixed, "
                f"`opsladder sample --store {store} --reindex` indexes it.",
                path=exc.path,
            ) from None
    return path


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
    entries: list[dict[str, Any]] = []
    skipped: list[tuple[Path, str]] = []
    for run_file in iter_run_files(store):
        try:
            entries.append(entry_for(files.load_envelope(run_file)["run"]))
        except CassetteError as exc:
            skipped.append((run_file, str(exc)))
    path = index_path(store)
    with locked(path):
        files.atomic_write_text(path, "".join(dumps_entry(e) for e in entries), store_target(store))
    return Reindexed(len(entries), tuple(skipped))
