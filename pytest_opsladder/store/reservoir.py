"""Reservoir sampling over streams of unknown length, seeded (ladder level 7).

:class:`SkipReservoir` is Li's Algorithm L: it draws how many items to skip, so a stream of N
items costs O(k log(N/k)) random numbers and parses only the items it keeps. :class:`Reservoir`
takes items one by one (one reservoir per stratum) with the same skip counting, so an offer that
will not be kept costs one comparison and no random number. Memory is O(k) either way.
"""

from __future__ import annotations

import math
import random
from typing import Generic, TypeVar

T = TypeVar("T")


class Reservoir(Generic[T]):
    """Each of the ``seen`` items offered so far is in ``items`` with probability k/seen."""

    def __init__(self, k: int, rng: random.Random) -> None:
        self._pool = SkipReservoir(k, rng)
        self.seen = 0

    @property
    def items(self) -> list[T]:
        return self._pool.items  # type: ignore[return-value]

    def offer(self, item: T) -> None:
        i = self.seen
        self.seen = i + 1
        pool = self._pool
        if i == pool._next or len(pool.items) < pool.k:  # inlined wants(): one per stored run
            pool.put(i, item)


class SkipReservoir:
    """Algorithm L: ``wants(i)`` says whether item ``i`` (0-based) would enter the sample."""

    def __init__(self, k: int, rng: random.Random) -> None:
        self.k = k
        self.rng = rng
        self.items: list[object] = []
        self._w = 1.0
        self._next = -1

    def wants(self, i: int) -> bool:
        return len(self.items) < self.k or i == self._next

    def put(self, i: int, item: object) -> None:
        """Add item ``i`` (only after ``wants(i)``); a full reservoir replaces a random slot."""
        if len(self.items) < self.k:
            self.items.append(item)
            if len(self.items) == self.k:
                self._w = self._draw_w()
                self._advance(i)
            return
        self.items[self.rng.randrange(self.k)] = item
        self._w *= self._draw_w()
        self._advance(i)

    def skip(self, i: int) -> None:
        """Item ``i`` was wanted but unusable (an unreadable line): move to the next draw."""
        if len(self.items) >= self.k and i == self._next:
            self._advance(i)

    def _draw_w(self) -> float:
        return math.exp(math.log(self._unit()) / self.k)

    def _advance(self, i: int) -> None:
        gap = math.floor(math.log(self._unit()) / math.log1p(-self._w)) if self._w < 1 else 0
        self._next = i + gap + 1

    def _unit(self) -> float:
        return self.rng.random() or 1e-300  # log(0) guard: random() may return 0.0
