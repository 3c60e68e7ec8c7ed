"""Ladder level 6: circuit breakers per tool, sync and async, with LADDER.md's semantics."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pytest_opsladder.blast_radius.breaker import BreakerState, CircuitBreaker
from pytest_opsladder.blast_radius.clocks import ManualClock
from pytest_opsladder.blast_radius.errors import BlastRadiusConfigError, CircuitOpenError
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant


class Dependency:
    """A fake downstream that fails while ``down`` and counts the calls that reached it."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("dependency down")
        return "ok"


class BusinessError(Exception):
    """A 'card declined': the dependency works, the answer is no."""


def trip(breaker: CircuitBreaker, dep: Dependency, n: int) -> None:
    for _ in range(n):
        with pytest.raises(ConnectionError):
            breaker.call(dep)


def test_exactly_fail_max_failures_open_it_and_the_next_success_is_not_called() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("payments", fail_max=3, reset_timeout=30, clock=clock)
    trip(breaker, dep, 2)
    assert breaker.state is BreakerState.CLOSED
    trip(breaker, dep, 1)  # the third failure raises its own error, and opens the breaker
    assert breaker.state is BreakerState.OPEN
    dep.down = False
    with pytest.raises(CircuitOpenError, match="'payments' is open") as info:
        breaker.call(dep)
    assert dep.calls == 3  # failed fast: the healthy dependency was not called
    assert info.value.retry_after == pytest.approx(30)


def test_fail_max_minus_one_failures_then_a_success_resets_the_count() -> None:
    dep = Dependency()
    breaker = CircuitBreaker("t", fail_max=3, clock=ManualClock())
    trip(breaker, dep, 2)
    dep.down = False
    assert breaker.call(dep) == "ok"
    dep.down = True
    trip(breaker, dep, 2)
    assert breaker.state is BreakerState.CLOSED  # failures must be consecutive


def test_after_the_reset_timeout_a_probe_success_closes_it() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("t", fail_max=1, reset_timeout=10, clock=clock)
    trip(breaker, dep, 1)
    clock.advance(9.999)
    with pytest.raises(CircuitOpenError):
        breaker.call(dep)
    clock.advance(0.001)
    assert breaker.state is BreakerState.HALF_OPEN
    dep.down = False
    assert breaker.call(dep) == "ok"
    assert breaker.state is BreakerState.CLOSED


def test_a_failed_probe_opens_it_again_for_a_full_timeout() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("t", fail_max=2, reset_timeout=10, clock=clock)
    trip(breaker, dep, 2)
    clock.advance(10)
    trip(breaker, dep, 1)  # one failed probe suffices: no fail_max in half-open
    assert breaker.state is BreakerState.OPEN
    clock.advance(5)
    with pytest.raises(CircuitOpenError):
        breaker.call(dep)


def test_a_wall_clock_jump_neither_opens_nor_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("t", fail_max=1, reset_timeout=60, clock=clock)
    trip(breaker, dep, 1)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86400)  # NTP steps a day ahead
    assert breaker.state is BreakerState.OPEN
    monkeypatch.setattr(time, "time", lambda: real_time() - 86400)
    assert breaker.state is BreakerState.OPEN


def test_the_default_clock_is_monotonic() -> None:
    assert CircuitBreaker("t").clock is time.monotonic


def test_cancellations_neither_count_nor_reset() -> None:
    dep = Dependency()
    breaker = CircuitBreaker("t", fail_max=3, clock=ManualClock())
    trip(breaker, dep, 2)

    def cancelled() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(cancelled)
    assert (breaker.state, breaker.failures) == (BreakerState.CLOSED, 2)
    trip(breaker, dep, 1)
    assert breaker.state is BreakerState.OPEN


def test_an_asyncio_cancellation_inside_the_call_counts_for_nothing() -> None:
    breaker = CircuitBreaker("t", fail_max=1, clock=ManualClock())

    async def hang() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        task = asyncio.create_task(breaker.acall(hang))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert (breaker.state, breaker.failures) == (BreakerState.CLOSED, 0)


def test_a_cancelled_probe_frees_its_slot_and_stays_half_open() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("t", fail_max=1, reset_timeout=1, clock=clock)
    trip(breaker, dep, 1)
    clock.advance(1)

    def cancelled() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(cancelled)
    assert breaker.state is BreakerState.HALF_OPEN
    dep.down = False
    assert breaker.call(dep) == "ok"


def test_excluded_business_errors_neither_count_nor_reset() -> None:
    dep = Dependency()
    breaker = CircuitBreaker("t", fail_max=2, exclude=(BusinessError,), clock=ManualClock())
    trip(breaker, dep, 1)

    def declined() -> None:
        raise BusinessError("card declined")

    for _ in range(5):
        with pytest.raises(BusinessError):
            breaker.call(declined)
    assert (breaker.state, breaker.failures) == (BreakerState.CLOSED, 1)
    trip(breaker, dep, 1)
    assert breaker.state is BreakerState.OPEN


def test_exclude_can_be_a_predicate() -> None:
    breaker = CircuitBreaker(
        "t", fail_max=1, exclude=lambda e: "404" in str(e), clock=ManualClock()
    )

    def not_found() -> None:
        raise LookupError("404 not found")

    with pytest.raises(LookupError):
        breaker.call(not_found)
    assert breaker.state is BreakerState.CLOSED


def test_100_concurrent_calls_in_half_open_admit_only_the_probe_budget() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("t", fail_max=1, reset_timeout=5, half_open_max=2, clock=clock)
    trip(breaker, dep, 1)
    clock.advance(5)
    release = threading.Event()
    inside = []

    def probe() -> str:
        inside.append(1)
        release.wait(timeout=10)
        return "ok"

    start = threading.Barrier(100)
    rejected = threading.Semaphore(0)

    def attempt(_: int) -> str:
        start.wait(timeout=10)
        try:
            return breaker.call(probe)
        except CircuitOpenError:
            rejected.release()
            return "rejected"

    with ThreadPoolExecutor(100) as pool:
        futures = [pool.submit(attempt, i) for i in range(100)]
        for _ in range(98):  # the probes stay inside until every other call was refused
            assert rejected.acquire(timeout=10)
        release.set()
        results = [f.result(timeout=10) for f in futures]
    assert results.count("ok") == 2
    assert results.count("rejected") == 98
    assert len(inside) == 2
    assert breaker.state is BreakerState.CLOSED


def test_100_concurrent_async_calls_in_half_open() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("t", fail_max=1, reset_timeout=5, clock=clock)
    calls = []

    async def fail() -> None:
        raise ConnectionError("down")

    async def probe() -> str:
        calls.append(1)
        await asyncio.sleep(0)
        return "ok"

    async def one() -> str:
        try:
            return await breaker.acall(probe)
        except CircuitOpenError:
            return "rejected"

    async def main() -> list[str]:
        with pytest.raises(ConnectionError):
            await breaker.acall(fail)
        clock.advance(5)
        return list(await asyncio.gather(*(one() for _ in range(100))))

    results = asyncio.run(main())
    assert (results.count("ok"), results.count("rejected"), len(calls)) == (1, 99, 1)


def test_it_does_not_serialise_unrelated_calls() -> None:
    breaker = CircuitBreaker("t", clock=ManualClock())
    both_inside = threading.Barrier(2, timeout=10)

    def call() -> str:
        both_inside.wait()  # breaks (BrokenBarrierError) if the breaker held a lock around calls
        return "ok"

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda _: breaker.call(call), range(2))) == ["ok", "ok"]


def test_decorator_wraps_sync_and_async() -> None:
    breaker = CircuitBreaker("t", fail_max=1, clock=ManualClock())

    @breaker
    def sync_fail() -> None:
        raise ConnectionError

    @breaker
    async def async_ok() -> str:
        return "ok"

    with pytest.raises(ConnectionError):
        sync_fail()
    with pytest.raises(CircuitOpenError):
        asyncio.run(async_ok())


def test_state_changes_are_events_of_the_run() -> None:
    clock, dep = ManualClock(), Dependency()
    breaker = CircuitBreaker("search", fail_max=1, reset_timeout=1, clock=clock)
    run = Run(Case("c"), Variant("v"))
    with activate(run):
        trip(breaker, dep, 1)
        with pytest.raises(CircuitOpenError):
            breaker.call(dep)
        clock.advance(1)
        dep.down = False
        breaker.call(dep)
    moves = [(e.data["from"], e.data["to"]) for e in run.events_of("breaker_state")]
    assert moves == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert [e.name for e in run.events_of("breaker_rejected")] == ["search"]
    run.finish()
    assert (run.metrics["breaker_trips"], run.metrics["breaker_rejections"]) == (1, 1)


def test_bad_settings_are_one_clear_error() -> None:
    with pytest.raises(BlastRadiusConfigError, match=r"fail_max=0 must be at least 1.*0\.0"):
        CircuitBreaker("x", fail_max=0, reset_timeout=0.0)


BAD_BREAKERS = {
    "fail_max NaN": ({"fail_max": float("nan")}, "fail_max=nan"),
    "fail_max a float": ({"fail_max": 2.5}, "fail_max=2.5"),
    "fail_max a bool": ({"fail_max": True}, "fail_max=True"),
    "reset_timeout NaN": ({"reset_timeout": float("nan")}, "reset_timeout=nan"),
    "reset_timeout infinite": ({"reset_timeout": float("inf")}, "reset_timeout=inf"),
    "reset_timeout a string": ({"reset_timeout": "30"}, "reset_timeout='30'"),
    "half_open_max a float": ({"half_open_max": 1.5}, "half_open_max=1.5"),
}


@pytest.mark.parametrize(("settings", "says"), BAD_BREAKERS.values(), ids=BAD_BREAKERS.keys())
def test_a_breaker_setting_that_cannot_trip_or_recover_is_refused(
    settings: dict[str, object], says: str
) -> None:
    with pytest.raises(
        BlastRadiusConfigError, match=rf"circuit breaker 'x': {re.escape(says)} must"
    ):
        CircuitBreaker("x", **settings)  # type: ignore[arg-type]
