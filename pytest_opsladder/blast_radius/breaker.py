"""Circuit breakers per tool (ladder level 6): stop hammering a dependency that is down.

Semantics (LADDER.md, L6): ``fail_max`` *consecutive* failures open the breaker and the failing
call raises its own error; while open every call fails fast without calling. After
``reset_timeout`` seconds on a monotonic clock the breaker is half-open and admits at most
``half_open_max`` concurrent probes; a probe success closes it, a probe failure opens it again.
Cancellations (``BaseException`` that is not an ``Exception``) and excluded business errors
neither count as failures nor reset the count. The lock guards state only, never the call, so
unrelated calls run concurrently.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, TypeVar

from pytest_opsladder.blast_radius import events as ev
from pytest_opsladder.blast_radius.clocks import Clock, monotonic
from pytest_opsladder.blast_radius.errors import BlastRadiusConfigError, CircuitOpenError
from pytest_opsladder.blast_radius.numbers import count_problem, seconds_problem
from pytest_opsladder.capture.run import emit

T = TypeVar("T")
Excluded = tuple[type[BaseException], ...] | Callable[[BaseException], bool]


class BreakerState(StrEnum):
    """Where a breaker is: ``closed`` calls through, ``open`` fails fast, ``half_open`` probes."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class _Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"  # cancelled or an excluded business error: counts for nothing


class CircuitBreaker:
    """One breaker, usually one per tool; thread- and task-safe; sync and async."""

    def __init__(
        self,
        name: str,
        *,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        half_open_max: int = 1,
        exclude: Excluded = (),
        clock: Clock = monotonic,
    ) -> None:
        _check_config(name, fail_max, reset_timeout, half_open_max)
        self.name = name
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        self.half_open_max = half_open_max
        self.clock = clock
        self._exclude = exclude
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    # -- state ----------------------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        """The current state, with an elapsed reset timeout shown as ``half_open``."""
        with self._lock:
            return self._current_state()

    @property
    def failures(self) -> int:
        return self._failures

    def _current_state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._remaining() <= 0:
            self._move(BreakerState.HALF_OPEN, "reset timeout elapsed")
        return self._state

    def _remaining(self) -> float:
        return self._opened_at + self.reset_timeout - self.clock()

    def _move(self, to: BreakerState, reason: str) -> None:
        before, self._state = self._state, to
        if to is BreakerState.OPEN:
            self._opened_at = self.clock()
        if to is not BreakerState.HALF_OPEN:
            self._probes = 0
        emit(ev.BREAKER_STATE, self.name, {"from": before.value, "to": to.value, "reason": reason})

    # -- admission ------------------------------------------------------------------------
    def check(self) -> None:
        """Fail fast if a call would be refused now, without taking a probe slot."""
        if self._state is BreakerState.CLOSED:
            return  # lock-free fast path: reading one attribute is atomic
        with self._lock:
            state = self._current_state()
            if state is BreakerState.OPEN or (
                state is BreakerState.HALF_OPEN and self._probes >= self.half_open_max
            ):
                raise self._rejection(state)

    def _admit(self) -> bool:
        """Take a slot; returns True when the call is a half-open probe."""
        if self._state is BreakerState.CLOSED:
            return False  # a call racing the opening transition was in flight anyway
        with self._lock:
            state = self._current_state()
            if state is BreakerState.CLOSED:
                return False
            if state is BreakerState.HALF_OPEN and self._probes < self.half_open_max:
                self._probes += 1
                return True
            raise self._rejection(state)

    def _rejection(self, state: BreakerState) -> CircuitOpenError:
        retry = max(0.0, self._remaining()) if state is BreakerState.OPEN else 0.0
        emit(ev.BREAKER_REJECTED, self.name, {"state": state.value, "retry_after": retry})
        return CircuitOpenError(
            f"circuit breaker {self.name!r} is {state.value}: the call was refused without "
            f"running, after {self.fail_max} consecutive failure(s). It admits a probe in "
            f"{retry:.3f}s; fix the dependency or call reset() to close it by hand.",
            breaker=self.name,
            retry_after=retry,
        )

    # -- outcomes -------------------------------------------------------------------------
    def _classify(self, exc: BaseException | None) -> _Outcome:
        if exc is None:
            return _Outcome.SUCCESS
        if not isinstance(exc, Exception):
            return _Outcome.NEUTRAL
        excluded = self._exclude
        if callable(excluded) and not isinstance(excluded, tuple):
            return _Outcome.NEUTRAL if excluded(exc) else _Outcome.FAILURE
        return _Outcome.NEUTRAL if isinstance(exc, excluded) else _Outcome.FAILURE

    def _settle(self, probe: bool, exc: BaseException | None) -> None:
        if exc is None and not probe and self._failures == 0:
            return  # the common case, nothing to change: no lock
        outcome = self._classify(exc)
        with self._lock:
            if probe:
                self._probes -= 1
            if outcome is _Outcome.SUCCESS:
                self._on_success(probe)
            elif outcome is _Outcome.FAILURE:
                self._on_failure(probe)

    def _on_success(self, probe: bool) -> None:
        self._failures = 0
        if probe and self._state is BreakerState.HALF_OPEN:
            self._move(BreakerState.CLOSED, "probe succeeded")

    def _on_failure(self, probe: bool) -> None:
        if probe and self._state is BreakerState.HALF_OPEN:
            self._move(BreakerState.OPEN, "probe failed")
            return
        if self._state is not BreakerState.CLOSED:
            return  # a call admitted before the breaker opened: already counted as open
        self._failures += 1
        if self._failures >= self.fail_max:
            self._move(BreakerState.OPEN, f"{self._failures} consecutive failures")

    def reset(self) -> None:
        """Close the breaker by hand (an operator fixed the dependency)."""
        with self._lock:
            self._failures = 0
            if self._state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED, "reset by hand")

    # -- calling --------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        probe = self._admit()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(probe, exc)
            raise
        self._settle(probe, None)
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        probe = self._admit()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(probe, exc)
            raise
        self._settle(probe, None)
        return result

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorate a sync or async function so every call goes through this breaker."""
        if inspect.iscoroutinefunction(fn):

            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                return await self.acall(fn, *args, **kwargs)

            return functools.update_wrapper(awrapper, fn)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, **kwargs)

        return functools.update_wrapper(wrapper, fn)

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._state.value} failures={self._failures}>"


def _check_config(name: str, fail_max: int, reset_timeout: float, half_open_max: int) -> None:
    problems = [
        count_problem("fail_max", fail_max),
        seconds_problem("reset_timeout", reset_timeout),
        count_problem("half_open_max", half_open_max),
    ]
    if any(problems):
        raise BlastRadiusConfigError(
            f"circuit breaker {name!r}: "
            + "; ".join(p for p in problems if p)
            + ". Fix the breaker's settings, e.g. fail_max=5, reset_timeout=30, half_open_max=1."
        )
