"""Counts of what happened to runs in a session, for the terminal summary (level 0).

Workers under pytest-xdist send theirs to the controller as a plain dict; the controller merges.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def merge(self, data: dict[str, int]) -> None:
        self.counts.update(data)

    def as_dict(self) -> dict[str, int]:
        return dict(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts[k] for k in ("recorded", "replayed", "incomplete", "shadowed"))

    def summary_line(self) -> str:
        c = self.counts
        parts = [
            f"{c['recorded']} recorded",
            f"{c['replayed']} replayed",
            f"{c['incomplete']} incomplete",
        ]
        parts += [
            f"{c[k]} {_LABELS.get(k, k.replace('_', ' '))}"
            for k in sorted(c)
            if k not in ("recorded", "replayed", "incomplete") and c[k]
        ]
        return "opsladder runs: " + ", ".join(parts)


_LABELS = {
    "baseline_kept": "good cassette(s) kept: the failed re-record is beside it as *.error.json"
    " (to use that run anyway, move it over the cassette)",
    "rewrite_kept": "good cassette(s) kept: the failed rewrite is beside it as *.error.json"
    " (to use that run anyway, move it over the cassette)",
}
