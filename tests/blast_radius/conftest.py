"""Keep the process-wide tool registry as it was: tools defined by these tests must not change
the tools hash (and so the staleness check) of any other test's run."""

from __future__ import annotations

import resource
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _restore_tool_registry() -> Iterator[None]:
    from pytest_opsladder.capture import tools

    saved = dict(tools._TOOLS)
    yield
    tools._TOOLS.clear()
    tools._TOOLS.update(saved)


@pytest.fixture(autouse=True)
def _pause_ledger(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's pause ledger in a temporary directory, never the user's home."""
    ledger = tmp_path_factory.mktemp("pause-ledger")
    monkeypatch.setenv("OPSLADDER_PAUSE_LEDGER", str(ledger))
    return ledger


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
