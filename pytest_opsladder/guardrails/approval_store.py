"""Pending approvals on disk (ladder level 4): a SQLite file several processes share.

An approval request outlives the process that made it: the agent stops, a human (or another
process) answers with ``opsladder policy approve CALL_ID --store FILE``, and the re-run finds
the answer. Each row is bound to its call: the call id and a digest of (call id, tool,
arguments). An approved row is consumed atomically when the call runs, so the gated action runs
exactly once, and an answer given for one call never unlocks another.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import ConfigError

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
        try:
            return cls(str(value).lower())
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ConfigError(f"{value!r} is not a valid answer. Valid answers: {valid}.") from None


def canonical_args(args: Any) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), default=repr)


def binding_of(call_id: str, tool: str, args: Any) -> str:
    """The digest that ties an approval to exactly one call: id, tool and arguments."""
    text = f"{call_id}\x00{tool}\x00{canonical_args(args)}"
    return hashlib.sha256(text.encode()).hexdigest()


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


class ApprovalStore:
    """The SQLite file of approval requests and answers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def get(self, call_id: str) -> ApprovalRow | None:
        with closing(self._connect()) as db:
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
        with closing(self._connect()) as db:
            db.execute(
                "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (call_id, binding, tool, canonical_args(args), rule, why, "pending", now, now),
            )

    def answer(self, call_id: str, answer: Answer | str, by: str = "") -> ApprovalState:
        """Answer a pending request; returns the new state. Unknown or closed ids are errors."""
        state = (
            ApprovalState.DENIED if Answer.parse(answer) is Answer.DENY else ApprovalState.APPROVED
        )
        with closing(self._connect()) as db:
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
        with closing(self._connect()) as db:
            done = db.execute(
                "UPDATE approvals SET state = 'executed', updated = ? "
                "WHERE call_id = ? AND binding = ? AND state = 'approved'",
                (time.time(), call_id, binding),
            ).rowcount
        return bool(done)

    def pending(self) -> list[ApprovalRow]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT call_id, binding, tool, args, rule, reason, state, answered_by "
                "FROM approvals WHERE state = 'pending' ORDER BY created"
            ).fetchall()
        return [_row(r) for r in rows]


def _row(r: tuple[Any, ...]) -> ApprovalRow:
    return ApprovalRow(r[0], r[1], r[2], r[3], r[4], r[5], ApprovalState(r[6]), r[7])
