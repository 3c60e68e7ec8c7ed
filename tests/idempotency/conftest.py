"""Stores for the idempotency tests: every behaviour runs on SQLite and on a real redis-server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_opsladder.idempotency import IdempotencyStore
from pytest_opsladder.schedule.clock import ManualClock


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store lives: a SQLite file in tmp_path, or the session's redis-server."""
    if request.param == "sqlite":
        return str(tmp_path / "idem.sqlite")
    url: str = request.getfixturevalue("redis_server")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def workflow() -> str:
    """A workflow of its own per test, so tests sharing one redis-server never collide."""
    return f"wf-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(target: str, clock: ManualClock, workflow: str) -> Iterator[IdempotencyStore]:
    opened = IdempotencyStore.open(
        target, clock=clock, workflow=workflow, lock_expiry=60, redis_server_time=False
    )
    yield opened
    opened.backend.clear(workflow + ":")
    opened.close()
