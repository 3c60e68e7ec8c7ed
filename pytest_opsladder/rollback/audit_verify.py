"""Verification of the audit log from genesis (ladder level 5).

Walks the chain once, hashing raw bytes, and reports the *first* bad sequence number with what
is wrong there: an edited entry (its hash no longer matches), a reordered, inserted or deleted
line (seq or prev out of step), a torn final line, a genesis entry that is not one. Against a
checkpoint file it also catches what a self-consistent chain hides: a cut-off tail, a deleted
log, a recomputed chain, a log swapped for another (different genesis id), and it counts the
entries appended after the last checkpoint record (not covered: the chain alone vouches for
them). Inputs that cannot be read at all (a directory, a FIFO, a binary or garbled checkpoint)
raise :class:`AuditUnreadableError`: "could not verify" is never reported as "tampered" or
"intact".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pytest_opsladder.rollback.audit_checkpoint import Checkpoints, open_regular
from pytest_opsladder.rollback.audit_format import GENESIS_PREV, decode, parse_line
from pytest_opsladder.rollback.errors import (
    AuditUnreadableError,
    AuditVerifyError,
    RollbackConfigError,
)


@dataclass
class AuditReport:
    """The verdict: ``ok``, or the first bad ``seq`` with the ``problem`` found there."""

    path: Path
    entries: int = 0
    head: str = ""
    bad_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0
    uncovered: int = 0  # entries after the last checkpoint record (all of them without one)
    log_id: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_seq is None

    def fail(self, seq: int, problem: str) -> AuditReport:
        self.bad_seq, self.problem = seq, problem
        return self

    def message(self) -> str:
        if not self.ok:
            return (
                f"{self.path}: NOT intact: first bad sequence number {self.bad_seq}: {self.problem}"
            )
        text = f"{self.path}: intact, {self.entries} entries, head {self.head[:16]}"
        if self.uncovered:
            text += f"; {self.uncovered} entries not covered by a checkpoint"
        return text

    def raise_for_problem(self) -> None:
        if not self.ok:
            raise AuditVerifyError(
                self.message() + ". Entries before it are trustworthy; investigate from there.",
                path=self.path,
                seq=int(self.bad_seq or 0),
                problem=self.problem,
            )


def verify_log(
    path: str | Path, checkpoint: str | Path | None = None, *, require_covered: bool = False
) -> AuditReport:
    """Verify the log at ``path`` from genesis, and against ``checkpoint`` if given.

    ``require_covered`` turns entries after the last checkpoint record into a failure.
    Raises :class:`AuditUnreadableError` when the log or the checkpoint cannot be read.
    """
    if require_covered and checkpoint is None:
        raise RollbackConfigError(
            "--require-covered needs --checkpoint FILE: without a checkpoint no entry is covered."
        )
    report = AuditReport(Path(path))
    marks = Checkpoints.load(Path(checkpoint)) if checkpoint is not None else None
    report.checkpoints = len(marks) if marks is not None else 0
    log = _open_log(report.path)
    if log is None:
        return report.fail(0, "the log does not exist (deleted?)" + _expected(marks))
    heads: list[str] | None = [] if marks is not None else None
    with log:
        _walk(report, log, heads)
    if report.ok and report.entries == 0:
        report.fail(0, "the log is empty: no genesis entry" + _expected(marks))
    if report.ok and marks is not None and heads is not None:
        _against(report, marks, heads)
    if report.ok:
        _coverage(report, marks, require_covered)
    return report


def _open_log(path: Path) -> BinaryIO | None:
    try:
        return open_regular(path, "audit log")
    except AuditUnreadableError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return None  # a missing log is a finding (deleted?), not an unreadable input
        raise


def _expected(marks: Checkpoints | None) -> str:
    return f"; the checkpoint expects {marks.last.seq + 1} entries" if marks else ""


def _walk(report: AuditReport, log: BinaryIO, heads: list[str] | None) -> None:
    prev, seq = GENESIS_PREV, 0
    try:
        for line in log:
            problem = _check(line, seq, prev) or (_genesis(report, line) if seq == 0 else "")
            if problem:
                report.fail(seq, problem)
                return
            prev = line[9:73].decode("ascii")
            if heads is not None:
                heads.append(prev)
            seq += 1
    except OSError as exc:
        raise AuditUnreadableError(
            f"reading the audit log {str(report.path)!r} failed at entry {seq}: {exc}. "
            "Nothing after it was verified; copy the file off a healthy disk and verify again.",
            path=report.path,
        ) from exc
    report.entries, report.head = seq, prev


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


def _genesis(report: AuditReport, line: bytes) -> str:
    """Entry 0 must be a JSON genesis entry naming the log; keeps its id on the report."""
    entry = decode(line)
    payload = entry.get("payload") if entry else None
    if not isinstance(payload, dict) or payload.get("genesis") is not True:
        return "entry 0 is not a genesis entry (not a JSON object with a genesis payload)"
    log_id = payload.get("log_id")
    if not isinstance(log_id, str):
        return "entry 0 is not a genesis entry (its log_id is not a string)"
    report.log_id = log_id
    return ""


def _against(report: AuditReport, marks: Checkpoints, heads: list[str]) -> None:
    """Check the newest checkpoint; if its head differs, bisect for the first that differs.

    A rewrite at seq k changes every head from k on, so "differs" is monotonic in seq.
    """
    last = marks.last
    ids = {m.log_id for m in (marks[0], last)} - {""}
    if ids and ids != {report.log_id}:
        report.fail(0, f"genesis id {report.log_id!r} is not the checkpoint's log (replaced)")
    elif last.seq >= report.entries:
        report.fail(
            report.entries,
            f"the log ends at seq {report.entries - 1} but the checkpoint saw seq {last.seq}: "
            "the tail was truncated",
        )
    elif heads[last.seq] != last.head:
        seq = _first_mismatch(marks, heads)
        report.fail(
            seq,
            f"entry {seq}'s hash differs from the checkpoint's: the chain was rewritten "
            f"(recomputed) at or before seq {seq}",
        )


def _first_mismatch(marks: Checkpoints, heads: list[str]) -> int:
    lo, hi = 0, len(marks) - 1  # marks[hi] differs
    while lo < hi:
        mid = (lo + hi) // 2
        mark = marks[mid]
        if mark.seq < len(heads) and heads[mark.seq] == mark.head:
            lo = mid + 1
        else:
            hi = mid
    return marks[hi].seq


def _coverage(report: AuditReport, marks: Checkpoints | None, require_covered: bool) -> None:
    covered = marks.last.seq + 1 if marks is not None else 0
    report.uncovered = max(0, report.entries - covered)
    if require_covered and report.uncovered:
        report.fail(
            covered,
            f"{report.uncovered} entries not covered by a checkpoint (from seq {covered} on; "
            "--require-covered): the chain alone cannot show whether they were added by a writer",
        )
