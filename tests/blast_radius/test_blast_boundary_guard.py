"""Ladder level 6 at the tool boundary: pause, environment, breaker and limiter together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_opsladder.blast_radius.boundary_guard import BlastRadius
from pytest_opsladder.blast_radius.breaker import BreakerState, CircuitBreaker
from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.errors import CircuitOpenError, PausedError, RateLimitedError
from pytest_opsladder.blast_radius.limiter import MemoryStore, RateLimiter
from pytest_opsladder.blast_radius.pause import PauseSwitch
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.tools import ToolSpec, tool
from pytest_opsladder.capture.variant import Case, Variant

clock = ManualClock()
radius = BlastRadius(workflow="billing", breaker_settings={"fail_max": 2, "clock": clock})
CALLS: list[str] = []


@pytest.fixture
def notify() -> Callable[..., str]:
    """An outbound tool whose breaker lives in ``radius`` (the tool registry is restored)."""

    @tool(outbound=True)
    @radius.protect("notify")
    def notify(user: str, fail: bool = False) -> str:
        CALLS.append(user)
        if fail:
            raise ConnectionError("push service down")
        return "ok"

    return notify


@pytest.fixture
def search() -> Callable[[str], list[str]]:
    @tool
    def search(q: str) -> list[str]:
        return [q]

    return search


@pytest.fixture(autouse=True)
def _fresh() -> None:
    CALLS.clear()
    radius.limits.clear()
    radius.pause = None
    breaker = radius.breaker_for("notify")
    assert breaker is not None
    breaker.reset()


def run_with(guard: BlastRadius) -> Run:
    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    guard.install(run)
    return run


def test_the_limiter_refuses_at_the_boundary_and_the_call_never_runs(
    notify: Callable[..., str],
) -> None:
    radius.limits["notify"] = RateLimiter("2/minute", store=MemoryStore(clock))
    run = run_with(radius)
    with activate(run):
        notify("a")
        notify("b")
        with pytest.raises(RateLimitedError, match="'billing:notify'"):
            notify("c")
    assert CALLS == ["a", "b"]
    assert len(run.events_of("tool_call")) == 2
    assert run.events_of("rate_limited")[0].data["key"] == "billing:notify"


def test_a_catch_all_limit_applies_per_tool(
    notify: Callable[..., str], search: Callable[[str], list[str]]
) -> None:
    radius.limits["*"] = RateLimiter("1/minute", store=MemoryStore(clock))
    run = run_with(radius)
    with activate(run):
        notify("a")
        search("x")  # its own bucket: billing:search
        with pytest.raises(RateLimitedError):
            search("y")


def test_weighted_tool_calls_use_the_cost_function(notify: Callable[..., str]) -> None:
    def cost(spec: ToolSpec, args: dict[str, Any]) -> float:
        return float(len(args["user"]))

    guard = BlastRadius(
        workflow="w", limits={"*": RateLimiter("5/minute", store=MemoryStore(clock))}, cost=cost
    )
    run = run_with(guard)
    with activate(run):
        notify("abc")
        with pytest.raises(RateLimitedError):
            notify("abc")
        notify("ab")  # the refused call of 3 took nothing: 2 are still there
    assert CALLS == ["abc", "ab"]


def test_the_breaker_opens_and_the_boundary_fails_fast(notify: Callable[..., str]) -> None:
    run = run_with(radius)
    with activate(run):
        for _ in range(2):
            with pytest.raises(ConnectionError):
                notify("x", fail=True)
        with pytest.raises(CircuitOpenError):
            notify("y")
    assert CALLS == ["x", "x"]
    assert run.events_of("breaker_state")[-1].data["to"] == "open"
    errors = [e.data.get("error", {}).get("type") for e in run.events_of("tool_call")]
    assert errors == ["ConnectionError", "ConnectionError"]  # refused before the tool ran
    clock.advance(30)
    with activate(run):
        assert notify("z") == "ok"
    assert radius.breakers["notify"].state is BreakerState.CLOSED


def test_a_paused_call_spends_no_rate_budget(tmp_path: Any, notify: Callable[..., str]) -> None:
    switch = PauseSwitch(tmp_path / "p.json")
    radius.pause = switch
    radius.limits["notify"] = RateLimiter("1/minute", store=MemoryStore(clock))
    run = run_with(radius)
    switch.pause("incident")
    with activate(run), pytest.raises(PausedError):
        notify("a")
    switch.resume()
    with activate(run):
        assert notify("a") == "ok"


def test_a_registered_guard_covers_every_run_until_removed(
    tmp_path: Any, notify: Callable[..., str]
) -> None:
    switch = PauseSwitch(tmp_path / "p.json")
    switch.pause("global")
    remove = BlastRadius(pause=switch).register()
    try:
        run = Run(Case("c"), Variant("v"))
        run.boundary = ToolBoundary()
        with activate(run), pytest.raises(PausedError):
            notify("a")
    finally:
        remove()
    with activate(run):
        assert notify("a") == "ok"


def test_an_explicit_breaker_map_is_used() -> None:
    breaker = CircuitBreaker("search", fail_max=1, clock=clock)
    guard = BlastRadius(breakers={"search": breaker})
    assert guard.breaker_for("search") is breaker
    assert guard.breaker_for("other") is None
