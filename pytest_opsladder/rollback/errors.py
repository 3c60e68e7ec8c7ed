"""Errors of ladder level 5 (rollback).

OpsladderError
├── ConfigError
│   └── RollbackConfigError         a trash, backup, audit or draft setting is wrong
└── RollbackError                   a reversible operation could not be done safely
    ├── DraftError                  a draft cannot be published
    │   ├── ApprovalDeniedError     the approver said no (or gave no clear yes)
    │   └── DraftStateError         already published, or discarded
    ├── TrashError                  trashing or restoring failed; nothing was lost
    │   ├── PartialTrashError       a multi-item delete stopped half-way (all restorable)
    │   └── RestoreConflictError    something already exists where the item would go back
    ├── BackupError                 no snapshot to restore, or it cannot be taken
    └── AuditError                  the audit log cannot be appended to or read
        ├── AuditVerifyError        the log is not intact; ``seq`` is the first bad entry
        └── AuditUnreadableError    a log or checkpoint cannot be read: nothing was verified
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import ConfigError, OpsladderError


class RollbackConfigError(ConfigError):
    """A rollback setting is invalid."""


class RollbackError(OpsladderError):
    """Base of the rollback rung's errors."""


class DraftError(RollbackError):
    """A draft cannot be published."""


class ApprovalDeniedError(DraftError):
    """The approver did not approve publishing the draft."""

    def __init__(self, message: str, *, draft_id: str, decision: Any) -> None:
        super().__init__(message)
        self.draft_id = draft_id
        self.decision = decision


class DraftStateError(DraftError):
    """The draft was already published or discarded."""


class TrashError(RollbackError):
    """Trashing or restoring an item failed; nothing was lost."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


class PartialTrashError(TrashError):
    """A multi-item delete failed part-way; ``trashed`` holds the entries already restorable."""

    def __init__(self, message: str, *, path: Path, trashed: list[Any], cause: BaseException):
        super().__init__(message, path=path)
        self.trashed = trashed
        self.cause = cause


class RestoreConflictError(TrashError):
    """Restoring would overwrite something at the original path."""


class BackupError(RollbackError):
    """A snapshot cannot be taken or restored."""


class AuditError(RollbackError):
    """The audit log cannot be appended to or read."""


class AuditVerifyError(AuditError):
    """The audit log failed verification at sequence number ``seq``."""

    def __init__(self, message: str, *, path: Path, seq: int, problem: str) -> None:
        super().__init__(message)
        self.path = path
        self.seq = seq
        self.problem = problem


class AuditUnreadableError(AuditError):
    """The log or its checkpoint cannot be read (wrong file type, no access, not text, garbled
    checkpoint): verification could not run, which is not the same as "tampered"."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path
