"""Rate limits per tool and workflow (ladder level 6): a token bucket with pluggable stores.

Every check is an atomic check-and-consume: a call of weight ``cost`` takes all its tokens or
none, and a refused call consumes nothing. The bucket refills continuously at
``capacity / per`` tokens a second. Time comes from one clock per store: the in-process and
SQLite stores read the machine's monotonic clock (one clock for every process on the machine),
the Redis store reads the Redis server's ``TIME`` inside its Lua script (one clock for every
machine). A clock that steps backwards mints nothing; one that leaps forward fills the bucket
at most to capacity. A store that is down allows or refuses per ``on_store_error``.
"""

from __future__ import annotations

import re
import threading
from enum import StrEnum
from typing import NamedTuple, Protocol

from pytest_opsladder.blast_radius import events as ev
from pytest_opsladder.blast_radius.clocks import Clock, monotonic
from pytest_opsladder.blast_radius.errors import (
    BlastRadiusConfigError,
    LimiterStoreError,
    RateLimitedError,
)
from pytest_opsladder.blast_radius.numbers import positive_seconds
from pytest_opsladder.capture.run import emit
from pytest_opsladder.choices import parse_choice


class FailMode(StrEnum):
    """What a limiter does when its store is down: ``open`` allows, ``closed`` refuses."""

    OPEN = "open"
    CLOSED = "closed"

    @classmethod
    def parse(cls, value: str) -> FailMode:
        return parse_choice(cls, value, setting="on_store_error", error=BlastRadiusConfigError)


class Decision(NamedTuple):
    """The result of one check-and-consume (a tuple: cheap on the hot path)."""

    allowed: bool
    remaining: float
    retry_after: float


class BucketStore(Protocol):
    """Where bucket state lives; ``take`` must be atomic across everyone sharing the store."""

    name: str

    def take(self, key: str, cost: float, capacity: float, rate: float) -> Decision: ...


def refill(tokens: float, last: float, now: float, capacity: float, rate: float) -> float:
    """Tokens after refilling from ``last`` to ``now``; a clock stepping back adds nothing."""
    return min(capacity, tokens + max(0.0, now - last) * rate)


def consume(tokens: float, cost: float, rate: float) -> tuple[bool, float, float]:
    """(allowed, tokens left, retry_after) for taking ``cost`` from ``tokens``, all or none."""
    if tokens >= cost:
        return True, tokens - cost, 0.0
    return False, tokens, (cost - tokens) / rate


class MemoryStore:
    """Buckets in this process; one lock, held for microseconds, never during a tool call."""

    name = "memory"

    def __init__(self, clock: Clock = monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: float, capacity: float, rate: float) -> Decision:
        with self._lock:  # refill() and consume() inlined: this is the per-call hot path
            now = self.clock()
            tokens, last = self._buckets.get(key) or (capacity, now)
            if now > last:
                tokens = min(capacity, tokens + (now - last) * rate)
                last = now
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, last)
                return Decision(True, tokens - cost, 0.0)
            self._buckets[key] = (tokens, last)
        return Decision(False, tokens, (cost - tokens) / rate)


_RATE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*(?:\.\d+)?)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$"
)
_UNIT = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_UNIT |= {"hour": 3600, "d": 86400, "day": 86400}


def parse_rate(text: str) -> tuple[float, float]:
    """``"10/minute"`` or ``"5/30s"`` -> (capacity, period in seconds)."""
    match = _RATE.match(text)
    if not match:
        raise BlastRadiusConfigError(
            f"rate {text!r} is not understood: write COUNT/PERIOD, e.g. '10/minute', '5/30s', "
            "'1000/hour' (units: s, m, h, d or second, minute, hour, day)."
        )
    count, mult, unit = match.groups()
    return float(count), float(mult or 1) * _UNIT[unit]


def _checked_rate(rate: object, name: str) -> tuple[float, float]:
    """(capacity, tokens per second) of a ``"COUNT/PERIOD"`` or ``(capacity, period)`` rate,
    each a finite positive number, as is the rate they make (no overflow or underflow)."""
    if isinstance(rate, str):
        rate = parse_rate(rate)
    if not isinstance(rate, tuple | list) or len(rate) != 2:
        raise BlastRadiusConfigError(
            f"rate limiter {name!r}: rate {rate!r} is neither 'COUNT/PERIOD' nor a (capacity, "
            "period seconds) pair; write e.g. '10/minute' or (10, 60)."
        )
    owner, example = f"rate limiter {name!r}", "'10/minute' or (10, 60)"
    capacity = positive_seconds(rate[0], owner=owner, setting="capacity", example=example)
    per = positive_seconds(rate[1], owner=owner, setting="period", example=example)
    per_second = positive_seconds(
        capacity / per, owner=owner, setting="capacity/period", example=example
    )
    return capacity, per_second


class RateLimiter:
    """A token bucket keyed per tool/workflow: ``capacity`` calls per ``per`` seconds."""

    def __init__(
        self,
        rate: str | tuple[float, float],
        *,
        store: BucketStore | None = None,
        on_store_error: FailMode | str = FailMode.CLOSED,
        name: str = "limiter",
    ) -> None:
        self.capacity, self.rate = _checked_rate(rate, name)
        self.store: BucketStore = store if store is not None else MemoryStore()
        self.on_store_error = FailMode.parse(str(on_store_error))
        self.name = name

    def try_acquire(self, key: str, cost: float = 1) -> Decision:
        """Take ``cost`` tokens from ``key``'s bucket if all are there; never blocks."""
        if not 0 < cost <= self.capacity:
            self._bad_cost(key, cost)
        try:
            return self.store.take(key, float(cost), self.capacity, self.rate)
        except Exception as exc:  # any store failure is handled the same way, per policy
            return self._store_down(key, cost, exc)

    def acquire(self, key: str, cost: float = 1) -> Decision:
        """Like :meth:`try_acquire`, but a refusal raises :class:`RateLimitedError`."""
        if not 0 < cost <= self.capacity:
            self._bad_cost(key, cost)
        try:
            decision = self.store.take(key, cost, self.capacity, self.rate)
        except Exception as exc:  # any store failure is handled the same way, per policy
            return self._store_down(key, cost, exc)
        if not decision.allowed:
            emit(ev.RATE_LIMITED, key, self._event(key, cost, decision))
            raise RateLimitedError(
                f"rate limit {self.name!r} refused {key!r} (cost {cost!r}): "
                f"{decision.remaining:.2f} of {self.capacity:g} token(s) left; retry in "
                f"{decision.retry_after:.3f}s or raise the limit.",
                key=key,
                retry_after=decision.retry_after,
            )
        return decision

    def _event(self, key: str, cost: float, d: Decision) -> dict[str, object]:
        return {"key": key, "cost": cost, "retry_after": d.retry_after, "store": self.store.name}

    def _bad_cost(self, key: str, cost: float) -> None:
        raise BlastRadiusConfigError(
            f"rate limiter {self.name!r}: cost {cost!r} for {key!r} can never be granted "
            f"by a bucket of capacity {self.capacity:g}; use a cost in (0, capacity]."
        )

    def _store_down(self, key: str, cost: float, exc: Exception) -> Decision:
        data = {"key": key, "store": self.store.name, "policy": self.on_store_error.value}
        emit(ev.LIMITER_STORE_DOWN, self.name, {**data, "error": repr(exc)})
        if self.on_store_error is FailMode.OPEN:
            return Decision(True, 0.0, 0.0)
        raise LimiterStoreError(
            f"rate limiter {self.name!r}: its {self.store.name} store failed ({exc!r}) and "
            "on_store_error='closed', so the call is refused. Bring the store back, or set "
            "on_store_error='open' to allow calls while it is down."
        ) from exc
