"""What a shadow session collects per case, mergeable across xdist workers and CI shards (L7).

Everything here is plain JSON-able data so that a worker can hand it to the controller through
``workeroutput`` and a CI shard can write it to a file for ``opsladder merge``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ShadowCollector:
    """Baseline and candidate runs of every shadowed case, plus the cases that had no baseline."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    case_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_divergences: dict[str, Any] = field(default_factory=dict)
    missing_baseline: list[str] = field(default_factory=list)
    missing_epochs: dict[str, list[int]] = field(default_factory=dict)  # case id -> epochs
    # case id -> {"side": the side without a run, "reason": why}: lost pairs beyond absent files
    lost: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # case id -> the skip's reason
    candidate_replayed: list[str] = field(default_factory=list)  # from a candidate cassette
    started: float = field(default_factory=time.monotonic)
    _seen_runs: set[str] = field(default_factory=set)

    def add_run(self, run: dict[str, Any], extra: dict[str, Any]) -> None:
        run_id = run["manifest"]["run_id"]
        if run_id in self._seen_runs:  # a baseline epoch shared by several candidate items
            return
        self._seen_runs.add(run_id)
        self.runs.append(run)
        self.extras.append(extra)

    def lost_on(self, side: str) -> dict[str, str]:
        """Case id -> reason of the lost cases that lack a run on ``side``."""
        return {c: w["reason"] for c, w in sorted(self.lost.items()) if w["side"] == side}

    @property
    def paired_cases(self) -> int:
        """Cases with runs on both sides: what the gate can compare."""
        sides: dict[str, set[str]] = {}
        for run, extra in zip(self.runs, self.extras, strict=True):
            sides.setdefault(str(run["case"]["id"]), set()).add(str(extra.get("role")))
        return sum(1 for roles in sides.values() if len(roles) == 2)

    @property
    def cases_done(self) -> int:
        return len({r["case"]["id"] for r, e in zip(self.runs, self.extras, strict=True)
                    if e.get("role") == "candidate"})  # fmt: skip

    @property
    def divergent_cases(self) -> int:
        return sum(1 for fd in self.first_divergences.values() if fd)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "extras": self.extras,
            "case_meta": self.case_meta,
            "first_divergences": self.first_divergences,
            "missing_baseline": self.missing_baseline,
            "missing_epochs": self.missing_epochs,
            "lost": self.lost,
            "skipped": self.skipped,
            "candidate_replayed": self.candidate_replayed,
        }

    def merge(self, data: dict[str, Any]) -> None:
        for run, extra in zip(data.get("runs", []), data.get("extras", []), strict=True):
            self.add_run(run, extra)
        self.case_meta.update(data.get("case_meta", {}))
        self.skipped.update(data.get("skipped", {}))
        self.candidate_replayed += list(data.get("candidate_replayed", []))
        self.first_divergences.update(data.get("first_divergences", {}))
        self.missing_baseline += [c for c in data.get("missing_baseline", [])
                                  if c not in self.missing_baseline]  # fmt: skip
        for case_id, epochs in data.get("missing_epochs", {}).items():
            self.missing_epochs[case_id] = sorted({*self.missing_epochs.get(case_id, []), *epochs})
        for case_id, why in data.get("lost", {}).items():
            self.lost.setdefault(case_id, why)

    def mark_failed(self, run_id: str, failure: str) -> None:
        """A candidate run whose test failed after the run was collected (an error in its
        teardown): the case did not pass, and says why."""
        for run, extra in zip(self.runs, self.extras, strict=True):
            if run["manifest"]["run_id"] == run_id and extra.get("role") == "candidate":
                extra["passed"] = False
                extra["failure"] = extra.get("failure") or failure
