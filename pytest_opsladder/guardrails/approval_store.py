"""Pending approvals on disk (ladder level 4): a SQLite file several processes share.

An approval request outlives the process that made it: the agent stops, a human (or another
process) answers with ``opsladder policy approve CALL_ID --store FILE``, and the re-run finds
the answer. Each row is bound to its call: the call id and a digest of (call id, tool,
arguments). An approved row is consumed atomically when the call runs, so the gated action runs
exactly once, and an answer given for one call never unlocks another.

What is shown is what runs: the stored ``args`` and ``tool`` must hash, with the call id, to the
row's digest. A row edited on disk is refused by the listing, by ``approve`` and by the gate,
naming the row (denying it stays possible). The file itself fails closed: missing means every
call asks again; corrupt, not a regular file, unreadable or full raises
:class:`ApprovalStoreError` and the gated call does not run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from pytest_opsladder._visible import field
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.guardrails.errors import ApprovalMismatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    call_id TEXT PRIMARY KEY,
    binding TEXT NOT NULL,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    answered_by TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
)
"""


class ApprovalState(StrEnum):
    """Where an approval request is: waiting, answered, or used up by the call it approved."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXECUTED = "executed"


class Answer(StrEnum):
    """What an approver may answer. ``always`` approves this tool for the rest of the run."""

    APPROVE = "approve"
    DENY = "deny"
    ALWAYS = "always"

    @classmethod
    def parse(cls, value: object) -> Answer:
        return parse_choice(cls, value, setting="answer", error=ConfigError, fold_case=True)


class ApprovalStoreError(ConfigError):
    """The approvals file cannot be used (corrupt, not a file, unreadable, disk full): no
    gated call runs until it is fixed. ``path`` is the file."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


class ApprovalRowMismatch(ApprovalMismatch):
    """A stored request's arguments or tool no longer match its digest (edited on disk)."""

    def __init__(self, message: str, *, call_id: str) -> None:
        super().__init__(message)
        self.call_id = call_id


def canonical_args(args: Any) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), default=repr)


def binding_of(call_id: str, tool: str, args: Any) -> str:
    """The digest that ties an approval to exactly one call: id, tool and arguments."""
    return _digest(call_id, tool, canonical_args(args))


def _digest(call_id: str, tool: str, args_text: str) -> str:
    text = f"{call_id}\x00{tool}\x00{args_text}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApprovalRow:
    call_id: str
    binding: str
    tool: str
    args: str
    rule: str
    reason: str
    state: ApprovalState
    answered_by: str | None

    @property
    def intact(self) -> bool:
        """The stored tool and arguments are the ones the digest (and so the call) binds."""
        return _digest(self.call_id, self.tool, self.args) == self.binding

    def refusal(self) -> str:
        return (
            f"approval {self.call_id} ({self.tool}) was edited: its stored arguments do not "
            "match the call's digest, so what would be shown is not what would run. It is "
            "refused; deny it (`opsladder policy deny ID`) and let the agent ask again."
        )


class ApprovalStore:
    """The SQLite file of approval requests and answers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc) from exc
        with self._db() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection; every SQLite or file failure becomes ApprovalStoreError."""
        self._check_file()
        try:
            with closing(self._connect()) as db:
                yield db
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _check_file(self) -> None:
        """A FIFO or directory at the path would hang or confuse SQLite: refuse it first."""
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            return  # created empty: every call asks again (fails closed)
        except OSError as exc:
            raise self._error(exc) from exc
        if not stat.S_ISREG(mode):
            raise self._error(OSError("not a regular file"))

    def _error(self, exc: BaseException) -> ApprovalStoreError:
        return ApprovalStoreError(
            f"the approvals store {str(self.path)!r} cannot be used: {exc}. No gated call "
            "runs until it can. A corrupt file must be moved away (every call then asks "
            "again); free disk space or fix permissions for the others.",
            path=self.path,
        )

    def get(self, call_id: str) -> ApprovalRow | None:
        with self._db() as db:
            row = db.execute(
                "SELECT call_id, binding, tool, args, rule, reason, state, answered_by "
                "FROM approvals WHERE call_id = ?",
                (call_id,),
            ).fetchone()
        return None if row is None else _row(row)

    def request(
        self, call_id: str, binding: str, tool: str, args: Any, rule: str, why: str
    ) -> None:
        """Store a pending request (a no-op when the call id is already stored)."""
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (call_id, binding, tool, canonical_args(args), rule, why, "pending", now, now),
            )

    def answer(self, call_id: str, answer: Answer | str, by: str = "") -> ApprovalState:
        """Answer a pending request; returns the new state. Unknown or closed ids are errors."""
        state = (
            ApprovalState.DENIED if Answer.parse(answer) is Answer.DENY else ApprovalState.APPROVED
        )
        row = self.get(call_id)
        if state is ApprovalState.APPROVED and row is not None and not row.intact:
            raise ApprovalRowMismatch(row.refusal(), call_id=call_id)
        with self._db() as db:
            done = db.execute(
                "UPDATE approvals SET state = ?, answered_by = ?, updated = ? "
                "WHERE call_id = ? AND state = 'pending'",
                (state.value, by or None, time.time(), call_id),
            ).rowcount
        if not done:
            row = self.get(call_id)
            found = "no such request" if row is None else f"it is already {row.state.value}"
            raise ConfigError(
                f"cannot answer approval {call_id!r} in {self.path}: {found}. "
                "List open requests with `opsladder policy approvals --store FILE`."
            )
        return state

    def consume(self, call_id: str, binding: str) -> bool:
        """Mark an approved request executed; True only for the one caller that did so."""
        with self._db() as db:
            done = db.execute(
                "UPDATE approvals SET state = 'executed', updated = ? "
                "WHERE call_id = ? AND binding = ? AND state = 'approved'",
                (time.time(), call_id, binding),
            ).rowcount
        return bool(done)

    def review(self) -> tuple[list[ApprovalRow], list[ApprovalRow]]:
        """Pending requests split into (intact, edited): only intact ones may be shown."""
        rows = self.pending()
        return [r for r in rows if r.intact], [r for r in rows if not r.intact]

    def pending(self) -> list[ApprovalRow]:
        with self._db() as db:
            rows = db.execute(
                "SELECT call_id, binding, tool, args, rule, reason, state, answered_by "
                "FROM approvals WHERE state = 'pending' ORDER BY created"
            ).fetchall()
        return [_row(r) for r in rows]


def _row(r: tuple[Any, ...]) -> ApprovalRow:
    try:
        state = ApprovalState(r[6])
    except ValueError:
        state = ApprovalState.DENIED  # an unknown state never reads as approved
    call_id, binding, tool, args, rule, reason = (str(v) for v in r[:6])
    return ApprovalRow(call_id, binding, tool, args, rule, reason, state, r[7])


def print_review(store: ApprovalStore, out: IO[str], err: IO[str]) -> int:
    """The approvals listing: intact requests on ``out``, edited ones refused on ``err``;
    returns the exit code (1 when any row was refused)."""
    rows, edited = store.review()
    for row in rows:  # the whole arguments: a cut line could hide what would run
        print(field(f"{row.call_id} {row.tool} {row.args} ({row.rule}: {row.reason})"), file=out)
    for row in edited:
        print(f"REFUSED {field(row.refusal())}", file=err)
    print(f"{len(rows)} pending" + (f", {len(edited)} refused" if edited else ""), file=err)
    return 1 if edited else 0
