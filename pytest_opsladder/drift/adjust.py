"""Multiplicity adjustments of the gate (ladder level 7): Holm and Benjamini-Hochberg.

Holm controls the family-wise error across the gated metrics (the gate fails if any fails);
Benjamini-Hochberg controls the false discovery rate of diagnostic breakdowns, which are never
gated. No numpy at import: the gate configuration module uses :func:`holm`.
"""

from __future__ import annotations


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error across the gated metrics)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg q-values, for diagnostic breakdowns that are never gated."""
    if not p_values:
        return []
    import numpy as np
    from scipy.stats import false_discovery_control

    return [float(q) for q in false_discovery_control(np.asarray(p_values), method="bh")]
