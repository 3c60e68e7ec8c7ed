"""Fixtures of ladder level 6: isolated breakers, limiters, pause switch and environments.

Each fixture builds a fresh instance under ``tmp_path`` on a manual clock, so tests neither
share state nor sleep: move time with ``opsladder_blast_clock.advance(seconds)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.blast_radius.boundary_guard import BlastRadius
from pytest_opsladder.blast_radius.breaker import CircuitBreaker
from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.limiter import MemoryStore, RateLimiter
from pytest_opsladder.blast_radius.pause import PauseSwitch


@pytest.fixture
def opsladder_blast_clock() -> ManualClock:
    """A manual monotonic clock shared by this test's breakers and limiters."""
    return ManualClock()


@pytest.fixture
def opsladder_pause(tmp_path: Path) -> PauseSwitch:
    """A global pause switch whose state file and ledger live in this test's tmp_path."""
    return PauseSwitch(
        tmp_path / "opsladder-pause.json", ledger=tmp_path / "opsladder-pause-ledger"
    )


@pytest.fixture
def opsladder_breaker(opsladder_blast_clock: ManualClock) -> Callable[..., CircuitBreaker]:
    """Factory: ``opsladder_breaker(name, fail_max=..., ...)`` on the test's manual clock."""

    def make(name: str = "tool", **settings: Any) -> CircuitBreaker:
        settings.setdefault("clock", opsladder_blast_clock)
        return CircuitBreaker(name, **settings)

    return make


@pytest.fixture
def opsladder_rate_limiter(opsladder_blast_clock: ManualClock) -> Callable[..., RateLimiter]:
    """Factory: ``opsladder_rate_limiter("5/minute", ...)``, in memory, on the manual clock."""

    def make(rate: str | tuple[float, float], **kw: Any) -> RateLimiter:
        kw.setdefault("store", MemoryStore(opsladder_blast_clock))
        return RateLimiter(rate, **kw)

    return make


@pytest.fixture
def opsladder_blast_radius(
    opsladder_pause: PauseSwitch,
    opsladder_blast_clock: ManualClock,
) -> Iterator[BlastRadius]:
    """Level-6 controls guarding every tool call of this test (pause on; add limits/breakers)."""
    radius = BlastRadius(
        pause=opsladder_pause,
        breaker_settings={"clock": opsladder_blast_clock},
    )
    remove = radius.register()
    try:
        yield radius
    finally:
        remove()
