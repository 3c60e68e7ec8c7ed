"""Fixtures of ladder level 2: an isolated idempotency store, and ``assert_idempotent``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.idempotency.api import set_default_store
from pytest_opsladder.idempotency.store import IdempotencyStore
from pytest_opsladder.schedule.clock import ManualClock


@pytest.fixture
def opsladder_idempotency(tmp_path: Path) -> Iterator[IdempotencyStore]:
    """A fresh SQLite idempotency store on a ManualClock; also ``@idempotent``'s default."""
    store = IdempotencyStore.open(tmp_path / "idempotency.sqlite", clock=ManualClock())
    previous = set_default_store(store)
    try:
        yield store
    finally:
        set_default_store(previous)
        store.close()


def _diff(before: Any, after: Any) -> str:
    import difflib

    a = json.dumps(before, sort_keys=True, indent=1, default=repr).splitlines()
    b = json.dumps(after, sort_keys=True, indent=1, default=repr).splitlines()
    return "\n".join(difflib.unified_diff(a, b, "after run 1", "after run 2", lineterm=""))


def _assert_idempotent(job: Callable[[], Any], snapshot: Callable[[], Any]) -> Any:
    job()
    first = snapshot()
    job()
    second = snapshot()
    if first != second:
        raise AssertionError(
            "the job is not idempotent: running it a second time changed the world.\n"
            + _diff(first, second)
        )
    return second


@pytest.fixture
def assert_idempotent() -> Callable[[Callable[[], Any], Callable[[], Any]], Any]:
    """``assert_idempotent(job, snapshot)``: run ``job`` twice; the snapshots must be equal."""
    return _assert_idempotent
