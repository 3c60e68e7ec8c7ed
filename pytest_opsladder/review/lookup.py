"""Finding a stored run by file path or by run id (ladder level 7)."""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.store.errors import StoreError
from pytest_opsladder.store.index import entry_path, iter_index
from pytest_opsladder.store.layout import index_path, resolve_store


def run_file_for(run: str, store: str | Path | None = None) -> Path:
    """``run`` as a run file path, else the file of the run id ``run`` in the store."""
    given = Path(run)
    if given.suffix == ".json" and given.is_file():
        return given
    root = resolve_store(store)
    for entry in iter_index(index_path(root)):
        if entry.get("run_id") == run:
            return root / entry_path(entry)
    found = sorted(root.glob(f"*/{run}.json")) if root.is_dir() else []
    if found:
        return found[0]
    raise StoreError(
        f"no run {run!r}: not a run file, and not a run id in the store {root} (index or date "
        "folders). Pass the run file's path, or the store with --store / $OPSLADDER_STORE.",
        path=root,
    )
