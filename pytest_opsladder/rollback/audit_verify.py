"""Verification of the audit log from genesis (ladder level 5).

Walks the chain once, hashing raw bytes, and reports the *first* bad sequence number with what
is wrong there: an edited entry (its hash no longer matches), a reordered, inserted or deleted
line (seq or prev out of step), a torn final line. Against a checkpoint file it also catches
what a self-consistent chain hides: a cut-off tail, a deleted log, a recomputed chain, a log
swapped for another (different genesis id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_opsladder.rollback.audit_format import GENESIS_PREV, decode, parse_line
from pytest_opsladder.rollback.errors import AuditError, AuditVerifyError


@dataclass
class AuditReport:
    """The verdict: ``ok``, or the first bad ``seq`` with the ``problem`` found there."""

    path: Path
    entries: int = 0
    head: str = ""
    bad_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return self.bad_seq is None

    def fail(self, seq: int, problem: str) -> AuditReport:
        self.bad_seq, self.problem = seq, problem
        return self

    def message(self) -> str:
        if self.ok:
            return f"{self.path}: intact, {self.entries} entries, head {self.head[:16]}"
        return f"{self.path}: NOT intact: first bad sequence number {self.bad_seq}: {self.problem}"

    def raise_for_problem(self) -> None:
        if not self.ok:
            raise AuditVerifyError(
                self.message() + ". Entries before it are trustworthy; investigate from there.",
                path=self.path,
                seq=int(self.bad_seq or 0),
                problem=self.problem,
            )


def verify_log(path: str | Path, checkpoint: str | Path | None = None) -> AuditReport:
    """Verify the log at ``path`` from genesis, and against ``checkpoint`` if given."""
    report = AuditReport(Path(path))
    marks = _Checkpoints(Path(checkpoint)) if checkpoint is not None else None
    report.checkpoints = len(marks) if marks else 0
    if marks is not None and not marks:
        raise AuditError(f"the audit checkpoint {checkpoint} is empty: it holds no record.")
    if not report.path.exists():
        return report.fail(0, "the log does not exist (deleted?)" + _expected(marks))
    heads: list[str] | None = [] if marks else None
    _walk(report, heads)
    if report.ok and report.entries == 0:
        report.fail(0, "the log is empty: no genesis entry" + _expected(marks))
    if report.ok and marks and heads is not None:
        _against(report, marks, heads)
    return report


class _Checkpoints:
    """The checkpoint file's records, parsed only when looked at (there may be one per entry)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise AuditError(
                f"cannot read the audit checkpoint {path}: {exc}. Without it truncation and a "
                "recomputed chain cannot be detected; pass the right --checkpoint FILE."
            ) from exc

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = index % len(self.lines)
        text = self.lines[index]
        try:
            mark = json.loads(text)
            return {**mark, "seq": int(mark["seq"]), "head": str(mark["head"])}
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(
                f"audit checkpoint {self.path}, line {index + 1}: {text[:80]!r} is not a "
                f"checkpoint record ({exc!r}); expected {{'seq': N, 'head': HASH, 'log_id': ID}}."
            ) from exc


def _expected(marks: _Checkpoints | None) -> str:
    return f"; the checkpoint expects {marks[-1]['seq'] + 1} entries" if marks else ""


def _walk(report: AuditReport, heads: list[str] | None) -> None:
    prev, seq = GENESIS_PREV, 0
    with report.path.open("rb") as fh:
        for line in fh:
            problem = _check(line, seq, prev)
            if problem:
                report.fail(seq, problem)
                return
            prev = line[9:73].decode()
            if heads is not None:
                heads.append(prev)
            seq += 1
    report.entries, report.head = seq, prev
    if seq and not _genesis_ok(report.path):
        report.fail(0, "entry 0 is not a genesis entry")


def _check(line: bytes, seq: int, prev: str) -> str:
    if not line.endswith(b"\n"):
        return "torn final line (no newline: a crash mid-append, or a cut)"
    parsed = parse_line(line[:-1])
    if parsed.seq != seq and parsed.seq >= 0:
        return f"expected seq {seq}, found seq {parsed.seq} (a line was deleted, inserted or moved)"
    if parsed.problem:
        return parsed.problem + " (edited)" if parsed.seq == seq else parsed.problem
    if parsed.prev != prev:
        return "its prev hash does not match the entry before it (inserted or reordered)"
    return ""


def _genesis_ok(path: Path) -> bool:
    with path.open("rb") as fh:
        first = decode(fh.readline())
    payload = first.get("payload")
    return isinstance(payload, dict) and payload.get("genesis") is True


def _against(report: AuditReport, marks: _Checkpoints, heads: list[str]) -> None:
    """Check the newest checkpoint; if its head differs, bisect for the first that differs.

    A rewrite at seq k changes every head from k on, so "differs" is monotonic in seq.
    """
    last = marks[-1]
    log_id = _log_id(report.path)
    ids = {m.get("log_id") for m in (marks[0], last)} - {None, ""}
    if ids and ids != {log_id}:
        report.fail(0, f"genesis id {log_id!r} is not the checkpoint's log (replaced)")
    elif last["seq"] >= report.entries:
        report.fail(
            report.entries,
            f"the log ends at seq {report.entries - 1} but the checkpoint saw seq {last['seq']}: "
            "the tail was truncated",
        )
    elif heads[last["seq"]] != last["head"]:
        seq = _first_mismatch(marks, heads)
        report.fail(
            seq,
            f"entry {seq}'s hash differs from the checkpoint's: the chain was rewritten "
            f"(recomputed) at or before seq {seq}",
        )


def _first_mismatch(marks: _Checkpoints, heads: list[str]) -> int:
    lo, hi = 0, len(marks) - 1  # marks[hi] differs
    while lo < hi:
        mid = (lo + hi) // 2
        mark = marks[mid]
        if mark["seq"] < len(heads) and heads[mark["seq"]] == mark["head"]:
            lo = mid + 1
        else:
            hi = mid
    return int(marks[hi]["seq"])


def _log_id(path: Path) -> str:
    with path.open("rb") as fh:
        payload = decode(fh.readline()).get("payload") or {}
    return str(payload.get("log_id", "")) if isinstance(payload, dict) else ""
