"""Stores for the idempotency tests: every behaviour runs on SQLite and on a real redis-server."""

from __future__ import annotations

import resource
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
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


@pytest.fixture
def doomed_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server that a test may kill: (URL, process)."""
    from tests.conftest import _wait_for_port, free_port

    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(
        ["redis-server", *args, "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """``limit(n)``: from now until the test ends, no file of this process may grow past ``n``
    bytes, as on a full disk (writes fail with EFBIG; SIGXFSZ is ignored)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
