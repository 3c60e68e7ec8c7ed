"""Geometry for the report's inline SVG plots (level 7); the templates draw it.

Only numbers leave this module (coordinates as formatted strings, labels as plain str that the
template escapes), so no recorded text can reach the SVG markup unescaped. Long samples are
reduced to a few hundred quantiles: the plot looks the same and the file stays small.
"""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, PAD = 360.0, 170.0, 34.0
_QUANTILES = 160


def _finite(values: list[Any]) -> list[float]:
    return sorted(float(v) for v in values if isinstance(v, int | float) and math.isfinite(v))


def _axis(lo: float, hi: float) -> tuple[float, float]:
    if hi - lo < 1e-12:
        return lo - 0.5, hi + 0.5
    return lo, hi


def _x(value: float, lo: float, hi: float) -> float:
    return PAD + (value - lo) / (hi - lo) * (WIDTH - 2 * PAD)


def _y(frac: float) -> float:
    return HEIGHT - PAD + frac * (2 * PAD - HEIGHT)


def fmt_num(value: Any, digits: int = 4) -> str:
    """A number as a reviewer reads it: 4 significant digits, n/a for missing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def ecdf_plot(name: str, baseline: list[Any], candidate: list[Any]) -> dict[str, Any] | None:
    """Baseline and candidate ECDFs on one axis; None when neither side has numbers."""
    base, cand = _finite(baseline), _finite(candidate)
    if not base and not cand:
        return None
    lo, hi = _axis(min(base[:1] + cand[:1]), max(base[-1:] + cand[-1:]))
    return {
        "kind": "ecdf",
        "name": name,
        "baseline_path": _ecdf_path(base, lo, hi),
        "candidate_path": _ecdf_path(cand, lo, hi),
        "ticks": [{"x": f"{_x(v, lo, hi):.1f}", "label": fmt_num(v, 3)} for v in (lo, hi)],
        "n": (len(base), len(cand)),
        **_frame(),
    }


def _ecdf_path(values: list[float], lo: float, hi: float) -> str:
    if not values:
        return ""
    n = len(values)
    steps = min(n, _QUANTILES)
    points = [f"M{_x(values[0], lo, hi):.1f},{_y(0):.1f}"]
    for k in range(1, steps + 1):
        idx = max(0, math.ceil(k * n / steps) - 1)
        x, y = _x(values[idx], lo, hi), _y((idx + 1) / n)
        points.append(f"H{x:.1f}V{y:.1f}")
    return "".join(points)


def _frame() -> dict[str, str]:
    return {
        "width": f"{WIDTH:.0f}",
        "height": f"{HEIGHT:.0f}",
        "x0": f"{PAD:.0f}",
        "x1": f"{WIDTH - PAD:.0f}",
        "y0": f"{_y(0):.0f}",
        "y1": f"{_y(1):.0f}",
    }


def rate_plot(name: str, baseline: list[Any], candidate: list[Any], effect: Any) -> dict[str, Any]:
    """Pass rates side by side, and their change with its interval against zero."""
    base, cand = _finite(baseline), _finite(candidate)
    rate_b = sum(base) / len(base) if base else 0.0
    rate_c = sum(cand) / len(cand) if cand else 0.0
    bar_h = HEIGHT - 2 * PAD
    bars = [
        {
            "label": label,
            "rate": fmt_num(rate, 3),
            "y": f"{_y(rate):.1f}",
            "h": f"{rate * bar_h:.1f}",
        }
        for label, rate in (("baseline", rate_b), ("candidate", rate_c))
    ]
    return {"kind": "rate", "name": name, "bars": bars, "interval": interval_strip(effect, None)}


def interval_strip(effect: Any, boundary: float | None) -> dict[str, Any] | None:
    """A small strip: the estimate, its CI, zero, and the margin's boundary when known."""
    if not isinstance(effect, dict):
        return None
    raw = [effect.get(k) for k in ("estimate", "ci_low", "ci_high")]
    values = [float(v) for v in raw if isinstance(v, int | float) and math.isfinite(v)]
    if len(values) != 3:
        return None
    est, lo, hi = values
    marks = [0.0, lo, hi] + ([boundary] if boundary is not None else [])
    a, b = _axis(min(marks), max(marks))
    a, b = a - (b - a) * 0.08, b + (b - a) * 0.08

    def sx(v: float) -> str:
        return f"{4 + (v - a) / (b - a) * 152:.1f}"

    return {
        "lo": sx(lo),
        "hi": sx(hi),
        "est": sx(est),
        "zero": sx(0.0),
        "boundary": sx(boundary) if boundary is not None else None,
        "label": f"{fmt_num(est)} [{fmt_num(lo)}, {fmt_num(hi)}]",
    }


def margin_boundary(metric: dict[str, Any]) -> float | None:
    """Where the margin sits on the effect's axis (sign by the metric's worse direction)."""
    margin, worse = metric.get("margin"), metric.get("worse")
    if not isinstance(margin, int | float) or worse not in ("lower", "higher"):
        return None
    if metric.get("margin_kind") == "relative":
        base = (metric.get("baseline_summary") or {}).get("mean")
        if not isinstance(base, int | float):
            return None
        margin = margin * abs(base)
    return -float(margin) if worse == "lower" else float(margin)
