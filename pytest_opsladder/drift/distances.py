"""Distances between trajectories, texts and label distributions (ladder level 7).

Trajectory and text drift are measured as a distance in excess of the baseline's own noise
floor. Suites repeat the same few trajectories and outputs over and over, so every distance is
computed once per distinct pair of values and looked up after that.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class MatchMode(StrEnum):
    """How a candidate trajectory is compared with the baseline's."""

    STRICT = "strict"  # same tools in the same order
    UNORDERED = "unordered"  # same multiset of tools, any order
    SUBSET = "subset"  # the candidate calls nothing the baseline did not
    SUPERSET = "superset"  # the candidate calls everything the baseline did

    @classmethod
    def parse(cls, value: object) -> MatchMode:
        try:
            return cls(str(value))
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ValueError(
                f"{value!r} is not a valid match mode. Valid modes are: {valid}"
            ) from None


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Levenshtein distance over tool names, normalised by the longer sequence (0 = equal)."""
    if not a and not b:
        return 0.0
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1] / max(len(a), len(b))


def multiset_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of calls not matched between the two multisets (0 = same calls, any order)."""
    ca, cb = Counter(a), Counter(b)
    total = sum(ca.values()) + sum(cb.values())
    return 0.0 if total == 0 else sum(((ca - cb) + (cb - ca)).values()) / total


def _missing_share(inner: Sequence[Hashable], outer: Sequence[Hashable]) -> float:
    """Share of ``inner``'s calls that ``outer`` does not contain (as a multiset)."""
    if not inner:
        return 0.0
    return sum((Counter(inner) - Counter(outer)).values()) / len(inner)


def trajectory_distance(mode: MatchMode) -> Callable[[Sequence[str], Sequence[str]], float]:
    """distance(candidate, baseline) for a match mode; 0 means "matches"."""
    if mode is MatchMode.STRICT:
        return edit_distance
    if mode is MatchMode.UNORDERED:
        return multiset_distance
    if mode is MatchMode.SUBSET:
        return lambda cand, base: _missing_share(cand, base)
    return lambda cand, base: _missing_share(base, cand)


def text_distance(a: str, b: str) -> float:
    """1 - difflib's similarity ratio: 0 for equal texts, 1 for nothing in common."""
    if a == b:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


class CachedDistance:
    """A distance computed once per distinct (left, right) pair of hashable values."""

    def __init__(self, fn: Callable[[object, object], float]) -> None:
        self.fn = fn
        self.cache: dict[tuple[Hashable, Hashable], float] = {}

    def __call__(self, left: Hashable, right: Hashable) -> float:
        key = (left, right)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = float(self.fn(left, right))
        return found


def js_distance(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Jensen-Shannon distance (base 2, in [0, 1]) between distributions along the last axis."""
    m = (p + q) / 2.0
    return np.asarray(np.sqrt(np.clip((_kl(p, m) + _kl(q, m)) / 2.0, 0.0, 1.0)))


def _kl(p: NDArray[np.float64], m: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0) / np.where(m > 0, m, 1.0)), 0.0)
    return np.asarray(terms.sum(axis=-1))


def tv_distance(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Total variation distance along the last axis."""
    return np.asarray(np.abs(p - q).sum(axis=-1) / 2.0)
