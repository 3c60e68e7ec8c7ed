"""Which recorded call is closest to a missed one, and where their arguments differ (level 0).

A replay miss is only useful if it says what changed: the closest recorded calls are ranked by
tool name first and then by how many argument paths differ, and each shows those paths.
"""

from __future__ import annotations

from typing import Any

MISSING = "<missing>"


def diff_paths(recorded: Any, called: Any, path: str = "$") -> list[tuple[str, Any, Any]]:
    """Every JSON path where ``recorded`` and ``called`` differ, with both values."""
    if isinstance(recorded, dict) and isinstance(called, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(recorded) | set(called)):
            out += diff_paths(recorded.get(key, MISSING), called.get(key, MISSING), f"{path}.{key}")
        return out
    if isinstance(recorded, list) and isinstance(called, list) and len(recorded) == len(called):
        out = []
        for i, (r, c) in enumerate(zip(recorded, called, strict=True)):
            out += diff_paths(r, c, f"{path}[{i}]")
        return out
    return [] if recorded == called else [(path, recorded, called)]


def closest_calls(
    name: str, args: Any, candidates: list[tuple[str, Any]], limit: int = 3
) -> list[dict[str, Any]]:
    """The ``limit`` recorded calls nearest to ``name(args)``, each with its differing paths."""
    scored = []
    for i, (cand_name, cand_args) in enumerate(candidates):
        diffs = diff_paths(cand_args, args)
        scored.append((cand_name != name, len(diffs), i, cand_name, cand_args, diffs))
    scored.sort(key=lambda row: row[:3])
    return [
        {"tool": row[3], "args": row[4], "differs_at": [d[0] for d in row[5]], "diffs": row[5]}
        for row in scored[:limit]
    ]


def format_closest(
    closest: list[dict[str, Any]],
    *,
    what: str = "tool calls",
    label: str = "calls",
    verb: str = "called with",
    show_args: bool = True,
    max_diffs: int = 6,
    width: int = 80,
) -> str:
    """The closest recorded items (tool calls, HTTP requests) with the paths where each differs."""
    if not closest:
        return f"The cassette holds no {what} at all."
    lines = [f"Closest recorded {label}:"]
    for item in closest:
        args = f"({_short(item['args'], width)})" if show_args else ""
        lines.append(f"  - {item['tool']}{args}")
        for path, rec, got in item["diffs"][:max_diffs]:
            lines.append(
                f"      {path}: recorded {_short(rec, width)}, {verb} {_short(got, width)}"
            )
    return "\n".join(lines)


def _short(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
