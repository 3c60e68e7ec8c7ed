"""Ladder level 5, rollback: make the agent's moves reversible.

Drafts first (publishing needs an approval), trash instead of delete, snapshots of artifacts
with a one-call restore of the last known good, and a tamper-evident, hash-chained audit log.
"""

from __future__ import annotations

from pytest_opsladder.rollback.audit import AuditLog, verify_log
from pytest_opsladder.rollback.backup import Backups, Snapshot
from pytest_opsladder.rollback.drafts import Draft, Drafts, draft_first
from pytest_opsladder.rollback.trash import Trash, TrashEntry

__all__ = [
    "AuditLog",
    "Backups",
    "Draft",
    "Drafts",
    "Snapshot",
    "Trash",
    "TrashEntry",
    "draft_first",
    "verify_log",
]
