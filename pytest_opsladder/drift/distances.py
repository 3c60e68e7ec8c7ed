"""Distances between trajectories, texts and label distributions (ladder level 7).

Trajectory and text drift are measured as a distance in excess of the baseline's own noise
floor. Suites repeat the same few trajectories and outputs over and over, so every distance is
computed once per distinct pair of values and looked up after that.

Edit distances come from rapidfuzz (C++, bit-parallel): Levenshtein over tool names gives the
same values as a textbook dynamic programme, 7-40x faster (benchmarks/bench_drift.py); the text
distance is rapidfuzz's normalised Indel distance, ``1 - 2*LCS/(len(a)+len(b))``: the exact
longest-common-subsequence form of the ratio difflib approximates greedily, and linear-ish in
practice where difflib's ``SequenceMatcher`` is quadratic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import Indel, Levenshtein

from pytest_opsladder.drift.match_modes import MatchMode

__all__ = ["MatchMode"]  # re-exported: where a reader of distances looks for it


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Levenshtein distance over tool names, normalised by the longer sequence (0 = equal)."""
    return float(Levenshtein.normalized_distance(a, b))


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
    """Normalised Indel distance, 1 - 2*LCS/(len(a)+len(b)): 0 equal, 1 nothing in common."""
    return float(Indel.normalized_distance(a, b))


# distance(values, i, j) for many pairs at once: values[i[k]] against values[j[k]].
BatchDistance = Callable[[Sequence[str], NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]
_SEP = "\x1f"  # joins tool names into one hashable key; never part of a tool name


def split_key(key: str) -> list[str]:
    return key.split(_SEP) if key else []


def pairwise(fn: Callable[[str, str], float]) -> BatchDistance:
    """A scalar distance applied pair by pair (each a rapidfuzz call of a few microseconds)."""

    def batch(
        values: Sequence[str], i: NDArray[np.int64], j: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        pairs = zip(i.tolist(), j.tolist(), strict=True)
        return np.array([fn(values[a], values[b]) for a, b in pairs], dtype=float)

    return batch


def trajectory_batch(mode: MatchMode) -> BatchDistance:
    """The match mode's trajectory distance over many pairs of trajectory keys, vectorised."""

    def batch(
        keys: Sequence[str], i: NDArray[np.int64], j: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        seqs = [split_key(str(k)) for k in keys]
        if mode is MatchMode.STRICT:
            pairs = zip(i.tolist(), j.tolist(), strict=True)
            return np.array([edit_distance(seqs[a], seqs[b]) for a, b in pairs], dtype=float)
        tools = {t: n for n, t in enumerate(sorted({t for s in seqs for t in s}))}
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        counts = np.zeros((len(seqs), max(len(tools), 1)))
        for row, s in enumerate(seqs):
            np.add.at(counts[row], [tools[t] for t in s], 1.0)
        return _multiset(mode, counts, lengths, i, j)

    return batch


def _multiset(
    mode: MatchMode,
    counts: NDArray[np.float64],
    lengths: NDArray[np.int64],
    i: NDArray[np.int64],
    j: NDArray[np.int64],
) -> NDArray[np.float64]:
    """unordered: unmatched share of both; subset: candidate (i) calls the baseline (j) lacks;
    superset: baseline calls the candidate lacks."""
    ca, cb = counts[i], counts[j]
    if mode is MatchMode.UNORDERED:
        num, den = np.abs(ca - cb).sum(axis=1), (lengths[i] + lengths[j]).astype(float)
    elif mode is MatchMode.SUBSET:
        num, den = np.maximum(ca - cb, 0).sum(axis=1), lengths[i].astype(float)
    else:
        num, den = np.maximum(cb - ca, 0).sum(axis=1), lengths[j].astype(float)
    return np.asarray(np.where(den > 0, num / np.maximum(den, 1.0), 0.0))


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
