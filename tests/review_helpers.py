"""Helpers of the review tests, in an importable module (bare `pytest` and `python -m pytest`)."""

from __future__ import annotations

from pathlib import Path

from pytest_opsladder.store.index import iter_index


def run_ids(store: Path) -> list[str]:
    """The run ids of a run store's index, in index order."""
    return [str(e["run_id"]) for e in iter_index(store / "index.jsonl")]
