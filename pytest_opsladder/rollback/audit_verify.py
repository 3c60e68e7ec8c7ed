"""Verification of the audit log from genesis (ladder level 5).

Walks the chain once, hashing raw bytes, and reports the *first* bad sequence number with what
is wrong there: an edited entry (its hash no longer matches), a reordered, inserted or deleted
line (seq or prev out of step), a torn final line. Against a checkpoint file it also catches
what a self-consistent chain hides: a cut-off tail, a deleted log, a recomputed chain, a log
swapped for another (different genesis id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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
    heads: dict[int, str] = field(default_factory=dict, repr=False)

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
    marks = _read_checkpoints(Path(checkpoint)) if checkpoint is not None else []
    report.checkpoints = len(marks)
    wanted = {int(m["seq"]) for m in marks}
    if not report.path.exists():
        return report.fail(0, "the log does not exist (deleted?)" + _expected(marks))
    _walk(report, wanted)
    if report.ok and report.entries == 0:
        report.fail(0, "the log is empty: no genesis entry" + _expected(marks))
    return _against(report, marks) if report.ok else report


def _expected(marks: list[dict[str, Any]]) -> str:
    return f"; the checkpoint expects {marks[-1]['seq'] + 1} entries" if marks else ""


def _walk(report: AuditReport, wanted: set[int]) -> None:
    prev, seq = GENESIS_PREV, 0
    with report.path.open("rb") as fh:
        for line in fh:
            problem = _check(line, seq, prev)
            if problem:
                report.fail(seq, problem)
                return
            prev = line[9:73].decode()
            if seq in wanted:
                report.heads[seq] = prev
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


def _read_checkpoints(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AuditError(
            f"cannot read the audit checkpoint {path}: {exc}. Without it truncation and a "
            "recomputed chain cannot be detected; pass the right --checkpoint FILE."
        ) from exc
    marks = []
    for number, text in enumerate(lines, 1):
        try:
            mark = json.loads(text)
            marks.append({"seq": int(mark["seq"]), "head": str(mark["head"]), **mark})
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditError(
                f"audit checkpoint {path}, line {number}: {text[:80]!r} is not a checkpoint "
                f"record ({exc!r}); expected {{'seq': N, 'head': HASH, 'log_id': ID}}."
            ) from exc
    return marks


def _against(report: AuditReport, marks: list[dict[str, Any]]) -> AuditReport:
    log_id = _log_id(report.path)
    for mark in sorted(marks, key=lambda m: m["seq"]):
        seq = mark["seq"]
        if mark.get("log_id") and mark["log_id"] != log_id:
            return report.fail(0, f"genesis id {log_id!r} is not the checkpoint's log (replaced)")
        if seq >= report.entries:
            return report.fail(
                report.entries,
                f"the log ends at seq {report.entries - 1} but the checkpoint saw seq {seq}: "
                "the tail was truncated",
            )
        if report.heads.get(seq) != mark["head"]:
            return report.fail(
                seq,
                f"entry {seq}'s hash differs from the checkpoint's: the chain was rewritten "
                f"(recomputed) at or before seq {seq}",
            )
    return report


def _log_id(path: Path) -> str:
    with path.open("rb") as fh:
        payload = decode(fh.readline()).get("payload") or {}
    return str(payload.get("log_id", "")) if isinstance(payload, dict) else ""
