"""Per-case verdict history across runs, and flaky detection (ladder level 7).

``opsladder nightmare record RESULTS.json`` appends one line per (case, role, epoch) run of a
results JSON to ``<dir>/history/verdicts.jsonl``; recording the same file twice is a no-op.
A case is **flaky** when its runs disagree (pass vs fail) across the epochs of one results
file, for the same variant: nothing changed but chance. ``flips`` counts pass/fail changes
along the case's whole history, in time order, per variant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.run import utc_now
from pytest_opsladder.nightmare.divergence import load_results
from pytest_opsladder.store.index import iter_index
from pytest_opsladder.store.locking import append_jsonl, locked

HISTORY_FILE = "history/verdicts.jsonl"


def history_path(root: Path) -> Path:
    return root / HISTORY_FILE


def record_results(root: Path, results_file: Path, *, clock: Callable[[], str] = utc_now) -> int:
    """Append the per-run verdicts of a results JSON; returns lines added (0: seen before)."""
    results = load_results(results_file)
    digest = hashlib.sha256(results_file.read_bytes()).hexdigest()[:16]
    path = history_path(root)
    with locked(path.with_name(path.name + ".record")):
        if any(line.get("results_id") == digest for line in iter_index(path)):
            return 0
        lines = verdict_lines(results, digest, str(results_file), clock())
        append_jsonl(path, lines)
    return len(lines)


def verdict_lines(
    results: dict[str, Any], digest: str, source: str, now: str
) -> list[dict[str, Any]]:
    created = str(results.get("created_at") or now)
    out = []
    for case in results.get("cases") or []:
        for role in ("baseline", "candidate"):
            variant = (results.get(role) or {}).get("name")
            for run in (case.get(role) or {}).get("runs") or []:
                out.append(
                    {
                        "results_id": digest,
                        "results_file": source,
                        "created_at": created,
                        "recorded_at": now,
                        "case_id": case.get("case_id"),
                        "role": role,
                        "variant": variant,
                        "epoch": run.get("epoch", 0),
                        "run_id": run.get("run_id"),
                        "passed": run.get("passed"),
                        "status": run.get("status"),
                        "case_verdict": case.get("verdict"),
                    }
                )
    return out


@dataclass
class CaseHistory:
    """One case's verdicts over time: counts, flips and whether it is flaky."""

    case_id: str
    runs: int = 0
    passes: int = 0
    flips: int = 0
    flaky_in: list[str] = field(default_factory=list)
    last: dict[str, bool] = field(default_factory=dict)
    _epochs: dict[tuple[str, str], set[bool]] = field(default_factory=dict, repr=False)

    @property
    def pass_rate(self) -> float | None:
        return self.passes / self.runs if self.runs else None

    @property
    def flaky(self) -> bool:
        return bool(self.flaky_in)

    def add(self, line: dict[str, Any]) -> None:
        passed = line.get("passed")
        if not isinstance(passed, bool):
            return
        variant = str(line.get("variant"))
        self.runs += 1
        self.passes += passed
        if variant in self.last and self.last[variant] != passed:
            self.flips += 1
        self.last[variant] = passed
        seen = self._epochs.setdefault((str(line.get("results_id")), variant), set())
        seen.add(passed)
        if len(seen) == 2 and str(line.get("created_at")) not in self.flaky_in:
            self.flaky_in.append(str(line.get("created_at")))


def case_histories(root: Path) -> dict[str, CaseHistory]:
    """Every case's history, lines taken in time order (results created_at, then epoch)."""
    lines = sorted(
        iter_index(history_path(root)),
        key=lambda line: (str(line.get("created_at")), int(line.get("epoch") or 0)),
    )
    out: dict[str, CaseHistory] = {}
    for line in lines:
        case_id = str(line.get("case_id"))
        out.setdefault(case_id, CaseHistory(case_id)).add(line)
    return out
