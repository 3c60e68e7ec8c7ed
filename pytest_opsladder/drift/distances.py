"""Distances between trajectories, texts and label distributions (ladder level 7).

Trajectory and text drift are measured as a distance in excess of the baseline's own noise
floor. Suites repeat the same few trajectories and outputs over and over, so every distance is
computed once per distinct pair of values and looked up after that.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from pytest_opsladder.drift.match_modes import MatchMode

__all__ = ["MatchMode"]  # re-exported: where a reader of distances looks for it


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


# distance(values, i, j) for many pairs at once: values[i[k]] against values[j[k]].
BatchDistance = Callable[[Sequence[str], NDArray[np.int64], NDArray[np.int64]], NDArray[np.float64]]
_SEP = "\x1f"  # joins tool names into one hashable key; never part of a tool name
_BATCH = 2000  # pairs per vectorised dynamic-programming pass (bounds memory)
_MAX_VECTOR_LEN = 48  # longer trajectories go through the scalar edit distance


def split_key(key: str) -> list[str]:
    return key.split(_SEP) if key else []


def pairwise(fn: Callable[[str, str], float]) -> BatchDistance:
    """A scalar distance applied pair by pair (free text: difflib does not vectorise)."""

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
        tools = {t: n for n, t in enumerate(sorted({t for s in seqs for t in s}))}
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        if mode is MatchMode.STRICT:
            if lengths.size and lengths.max() > _MAX_VECTOR_LEN:
                return pairwise(lambda a, b: edit_distance(split_key(a), split_key(b)))(keys, i, j)
            tokens = np.full((len(seqs), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int64)
            for row, s in enumerate(seqs):
                tokens[row, : len(s)] = [tools[t] for t in s]
            return _levenshtein(tokens, lengths, i, j)
        counts = np.zeros((len(seqs), max(len(tools), 1)))
        for row, s in enumerate(seqs):
            np.add.at(counts[row], [tools[t] for t in s], 1.0)
        return _multiset(mode, counts, lengths, i, j)

    return batch


def _levenshtein(
    tokens: NDArray[np.int64],
    lengths: NDArray[np.int64],
    i: NDArray[np.int64],
    j: NDArray[np.int64],
) -> NDArray[np.float64]:
    out = np.zeros(i.size)
    for start in range(0, i.size, _BATCH):
        a, b = i[start : start + _BATCH], j[start : start + _BATCH]
        raw = _levenshtein_block(tokens[a], tokens[b], lengths[a], lengths[b])
        longer = np.maximum(lengths[a], lengths[b])
        out[start : start + _BATCH] = np.where(longer > 0, raw / np.maximum(longer, 1), 0.0)
    return out


def _levenshtein_block(
    ta: NDArray[np.int64], tb: NDArray[np.int64], la: NDArray[np.int64], lb: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Edit distances of prefix lengths (la, lb), one DP table per pair, rows in lockstep."""
    n, width = ta.shape[0], tb.shape[1]
    rows = np.empty((ta.shape[1] + 1, n, width + 1))
    rows[0] = np.arange(width + 1)
    for r in range(1, ta.shape[1] + 1):
        prev, cur = rows[r - 1], rows[r]
        best = np.minimum(prev[:, :-1] + (ta[:, r - 1 : r] != tb), prev[:, 1:] + 1)
        cur[:, 0] = r
        for c in range(1, width + 1):
            cur[:, c] = np.minimum(best[:, c - 1], cur[:, c - 1] + 1)
    return np.asarray(rows[la, np.arange(n), lb])


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
