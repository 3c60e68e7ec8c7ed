"""Drift over time (level 7): each gated metric's trend over a directory of past results.

One nightly results file says whether tonight's candidate regressed; a row of them shows a
metric creeping toward its margin before any single run fails. Every results file under the
directory is read (recursively, in created_at order) and checked like a single report's input;
JSON files that are not results (other CI artifacts) are listed as ignored, not fatal.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pytest_opsladder.reports.errors import ResultsFileError
from pytest_opsladder.reports.results_file import RESULTS_FORMAT, load_results
from pytest_opsladder.reports.svg_plots import fmt_num, margin_boundary
from pytest_opsladder.reports.text_safety import utf8_bytes

TREND_W, TREND_H, TREND_PAD = 900.0, 220.0, 40.0


def load_history(directory: Path) -> tuple[list[tuple[Path, dict[str, Any]]], list[Path]]:
    """(path, results) for every results file under ``directory``, oldest first; and the ignored."""
    if not directory.is_dir():
        raise ResultsFileError(
            f"--history expects a directory of results files; {str(directory)!r} is not one.",
            path=directory,
        )
    runs, ignored = [], []
    for path in sorted(directory.rglob("*.json")):
        if _is_results(path):
            runs.append((path, load_results(path)))
        else:
            ignored.append(path)
    runs.sort(key=lambda item: (str(item[1].get("created_at") or ""), str(item[0])))
    return runs, ignored


def _is_results(path: Path) -> bool:
    """Cheap sniff of the first bytes: the producer writes "format" first."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    return RESULTS_FORMAT.encode() in head


def trends(runs: list[tuple[Path, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One trend per metric gated in any run: its points in run order, drawn as SVG geometry."""
    names: list[str] = []
    for _, results in runs:
        names += [
            m["name"] for m in results["metrics"] if m.get("gated") and m["name"] not in names
        ]
    return [_trend(name, runs) for name in names]


def _trend(name: str, runs: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    points = []
    for i, (_, results) in enumerate(runs):
        metric = next((m for m in results["metrics"] if m["name"] == name), None)
        effect = (metric or {}).get("effect") or {}
        values = [effect.get(k) for k in ("estimate", "ci_low", "ci_high")]
        if metric is None or not all(_finite(v) for v in values):
            continue
        points.append(
            {
                "run": i,
                "values": values,
                "boundary": margin_boundary(metric),
                "metric_verdict": metric.get("verdict"),
                "gate": results["verdict"],
            }
        )
    laid = _layout(points, len(runs))
    line = " ".join(f"{p['x']},{p['y']}" for p in laid)
    return {"name": name, "points": laid, "line": line, "axis": _axis_labels(points)}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _bounds(points: list[dict[str, Any]]) -> tuple[float, float]:
    """The value range every estimate, interval, zero and boundary fits in, with 5% air."""
    spans = [v for p in points for v in p["values"]] + [0.0]
    spans += [p["boundary"] for p in points if p["boundary"] is not None]
    lo, hi = min(spans), max(spans)
    if hi - lo < 1e-12:
        return lo - 0.5, hi + 0.5
    return lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05


def _axis_labels(points: list[dict[str, Any]]) -> dict[str, str]:
    lo, hi = _bounds(points)
    return {
        "top": fmt_num(hi, 3),
        "bottom": fmt_num(lo, 3),
        "y_top": f"{TREND_PAD + 4:.0f}",
        "y_bottom": f"{TREND_H - TREND_PAD:.0f}",
    }


def _layout(points: list[dict[str, Any]], n_runs: int) -> list[dict[str, Any]]:
    lo, hi = _bounds(points)

    def y(v: float) -> str:
        return f"{TREND_H - TREND_PAD - (v - lo) / (hi - lo) * (TREND_H - 2 * TREND_PAD):.1f}"

    step = (TREND_W - 2 * TREND_PAD) / max(1, n_runs - 1)
    out = []
    for p in points:
        est, low, high = p["values"]
        boundary = p["boundary"]
        out.append(
            {
                **p,
                "x": f"{TREND_PAD + p['run'] * step:.1f}",
                "y": y(est),
                "y_lo": y(low),
                "y_hi": y(high),
                "y_zero": y(0.0),
                "label": f"{fmt_num(est)} [{fmt_num(low)}, {fmt_num(high)}]",
                "y_boundary": y(boundary) if boundary is not None else None,
            }
        )
    return out


def run_rows(runs: list[tuple[Path, dict[str, Any]]], root: Path) -> list[dict[str, Any]]:
    """The table under the plots: one row per results file."""
    rows = []
    for i, (path, results) in enumerate(runs):
        git = (results.get("provenance") or {}).get("git") or {}
        rows.append(
            {
                "i": i,
                "file": str(path.relative_to(root)),
                "created_at": results.get("created_at") or "",
                "commit": str(git.get("commit") or "")[:12],
                "verdict": results["verdict"],
                "reason": results.get("verdict_reason") or "",
                "n_cases": results.get("n_cases", ""),
            }
        )
    return rows


def render_history(directory: Path) -> str:
    """The history page for every results file under ``directory``."""
    from pytest_opsladder.reports.html_report import environment

    runs, ignored = load_history(directory)
    context = {
        "directory": str(directory),
        "trends": trends(runs),
        "rows": run_rows(runs, directory),
        "ignored": [str(p.relative_to(directory)) for p in ignored],
        "size": {"w": f"{TREND_W:.0f}", "h": f"{TREND_H:.0f}", "pad": f"{TREND_PAD:.0f}"},
    }
    return environment().get_template("history.html.j2").render(context)


def write_history(directory: Path, out_dir: Path) -> Path:
    """Render and atomically write ``history.html`` into ``out_dir``."""
    from pytest_opsladder.reports.writer import write_atomic

    return write_atomic(Path(out_dir) / "history.html", utf8_bytes(render_history(Path(directory))))
