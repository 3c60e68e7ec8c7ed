"""Where a run store lives and where each file of it goes (ladder level 7).

One documented rule picks the directory: an explicit path, else ``$OPSLADDER_STORE``, else
``runs/`` (relative to the working directory). Run files are partitioned by the UTC date the run
started, so a day's runs can be archived or deleted as one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytest_opsladder.cassette.naming import safe_stem
from pytest_opsladder.cassette.write_errors import WriteTarget

ENV_STORE = "OPSLADDER_STORE"
DEFAULT_STORE = "runs"
INDEX_NAME = "index.jsonl"
REVIEWS_NAME = "reviews.jsonl"


def resolve_store(store: str | Path | None = None) -> Path:
    """The store directory: ``store`` if given, else $OPSLADDER_STORE, else ``runs/``."""
    if store is not None and str(store) != "":
        return Path(store)
    return Path(os.environ.get(ENV_STORE) or DEFAULT_STORE)


def store_target(store: Path) -> WriteTarget:
    """How a failed write in ``store`` names itself and the production fix (no pytest option:
    ``capture()`` runs without pytest)."""
    from pytest_opsladder.store.errors import StoreWriteError

    return WriteTarget(
        "run-store file",
        f"point the store elsewhere: capture(store=DIR), ${ENV_STORE}=DIR, or --store DIR on "
        "the opsladder command line",
        "run again",
        place=f" (run store {store}/)",
        error=StoreWriteError,
    )


def index_path(store: Path) -> Path:
    return store / INDEX_NAME


def reviews_path(store: Path) -> Path:
    return store / REVIEWS_NAME


def run_relpath(started_at: str, run_id: str) -> str:
    """``YYYY-MM-DD/<run_id>.json``: the partition is the run's UTC start date."""
    return f"{started_at[:10]}/{safe_stem(run_id)}.json"


def run_path(store: Path, relpath: str) -> Path:
    return store / relpath
