"""What a reviewer reads first (level 7): the verdict, the pass-rate change, the case counts,
the regressed and improved cases with their reasons, and the metrics split into gated, changed
and unchanged, so constant bookkeeping never pushes the cases off the first screen.

Reads optional fields when a producer writes them and falls back when it does not:
``unchanged_metrics`` (names, or dicts with ``name``) and ``bookkeeping_metrics`` at the top
level; ``bookkeeping`` and ``n_lost`` on a metric.
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from typing import Any

from pytest_opsladder.reports.case_reasons import explain

# Counters that differ by construction between a recorded baseline and a live candidate (the
# design's "bookkeeping is not behaviour"): provenance, never a change, when a producer does
# not list its bookkeeping metrics itself.
BOOKKEEPING = frozenset({"http_live", "http_recorded", "http_replayed", "http_blocked"})
LEAD_CASES = 20  # per list on the first screen; the case table below has them all
COUNT_LABELS = (
    ("regressed", ("regressed",)),
    ("improved", ("improved",)),
    ("unchanged", ("unchanged",)),
    ("errored", ("error",)),
    ("missing", ("missing_baseline", "missing_candidate")),
)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def effect_of(metric: dict[str, Any]) -> dict[str, Any]:
    effect = metric.get("effect")
    return effect if isinstance(effect, dict) else {}


def counts(cases: list[dict[str, Any]]) -> dict[str, int]:
    """Cases per reviewer-facing verdict: regressed, improved, unchanged, errored, missing."""
    by_verdict: dict[str, int] = {}
    for case in cases:
        by_verdict[str(case.get("verdict"))] = by_verdict.get(str(case.get("verdict")), 0) + 1
    return {label: sum(by_verdict.get(v, 0) for v in kinds) for label, kinds in COUNT_LABELS}


def _case_rate(cases: list[dict[str, Any]], side: str) -> float | None:
    rates = []
    for case in cases:
        runs = [r for r in (case.get(side) or {}).get("runs") or [] if isinstance(r, dict)]
        if runs:
            rates.append(sum(bool(r.get("passed")) for r in runs) / len(runs))
    return sum(rates) / len(rates) if rates else None


def pass_rate(results: dict[str, Any]) -> dict[str, Any]:
    """Pass rate baseline -> candidate, with the change's interval when the gate scored it."""
    metric: dict[str, Any] = next(
        (m for m in results["metrics"] if m.get("name") == "pass_rate"), {}
    )
    base = _num((metric.get("baseline_summary") or {}).get("mean"))
    cand = _num((metric.get("candidate_summary") or {}).get("mean"))
    if base is None or cand is None:
        base, cand = (
            _case_rate(results["cases"], "baseline"),
            _case_rate(results["cases"], "candidate"),
        )
    effect = effect_of(metric)
    lo, hi = _num(effect.get("ci_low")), _num(effect.get("ci_high"))
    return {
        "baseline": _pct(base),
        "candidate": _pct(cand),
        "change": _points(None if base is None or cand is None else cand - base),
        "interval": _interval(lo, hi, _num(effect.get("ci_level"))),
        "direction": _direction(base, cand),
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f} pts"


def _interval(lo: float | None, hi: float | None, level: float | None) -> str:
    if lo is None or hi is None:
        return ""
    return f"{100 * (level or 0.95):g}% CI {100 * lo:+.1f} to {100 * hi:+.1f} pts"


def _direction(base: float | None, cand: float | None) -> str:
    if base is None or cand is None or base == cand:
        return "flat"
    return "down" if cand < base else "up"


def lead_cases(cases: list[dict[str, Any]], verdicts: tuple[str, ...]) -> list[dict[str, Any]]:
    """The first LEAD_CASES cases with these verdicts, explained, with their table index."""
    out = []
    for index, case in enumerate(cases):
        if case.get("verdict") in verdicts:
            out.append({**explain(case), "index": index})
            if len(out) == LEAD_CASES:
                break
    return out


def _names(value: Any) -> set[str]:
    items = value if isinstance(value, list) else []
    return {str(v.get("name") if isinstance(v, dict) else v) for v in items}


def metric_groups(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Metrics split for the page: gated, changed (significant), unchanged, bookkeeping."""
    unchanged_names = _names(results.get("unchanged_metrics"))
    listed_bookkeeping = results.get("bookkeeping_metrics")
    bookkeeping = _names(listed_bookkeeping) if listed_bookkeeping is not None else BOOKKEEPING
    groups: dict[str, list[dict[str, Any]]] = {
        "gated": [],
        "changed": [],
        "unchanged": [],
        "bookkeeping": [],
    }
    alpha = _num(results.get("alpha")) or 0.01
    for metric in results["metrics"]:
        groups[_group(metric, unchanged_names, bookkeeping, alpha)].append(metric)
    listed = {str(m.get("name")) for m in results["metrics"]}
    groups["unchanged"] += [{"name": n} for n in sorted(unchanged_names - listed)]
    return groups


def _group(
    metric: dict[str, Any], unchanged: AbstractSet[str], bookkeeping: AbstractSet[str], alpha: float
) -> str:
    name = str(metric.get("name"))
    if metric.get("gated"):
        return "gated"
    if metric.get("bookkeeping") or name in bookkeeping:
        return "bookkeeping"
    if name in unchanged or not significant(metric, alpha):
        return "unchanged"
    return "changed"


def significant(metric: dict[str, Any], alpha: float) -> bool:
    """A change the test saw: its interval excludes zero, or its p-value is below alpha."""
    effect = effect_of(metric)
    lo, hi = _num(effect.get("ci_low")), _num(effect.get("ci_high"))
    if lo is not None and hi is not None and (lo > 0 or hi < 0):
        return True
    p = _num(metric.get("p_value"))
    return p is not None and p < alpha and _num(effect.get("estimate")) not in (0.0, None)
