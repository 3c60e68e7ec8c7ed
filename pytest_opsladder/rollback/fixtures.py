"""Fixtures of ladder level 5: an isolated trash, backups, audit log and drafts per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_opsladder.rollback.audit import AuditLog
from pytest_opsladder.rollback.backup import Backups
from pytest_opsladder.rollback.drafts import Draft, Drafts
from pytest_opsladder.rollback.trash import Trash


@pytest.fixture
def opsladder_trash(tmp_path: Path) -> Trash:
    """A trash directory of this test's own, under tmp_path."""
    return Trash(tmp_path / "opsladder-trash")


@pytest.fixture
def opsladder_backups(tmp_path: Path) -> Backups:
    """A snapshot store of this test's own, under tmp_path."""
    return Backups(tmp_path / "opsladder-backups")


@pytest.fixture
def opsladder_audit_log(tmp_path: Path) -> Iterator[AuditLog]:
    """An audit log with a checkpoint file beside it, closed at teardown."""
    log = AuditLog(tmp_path / "audit.jsonl", checkpoint=tmp_path / "audit.checkpoint")
    with log:
        yield log


class RecordingApprover:
    """An approver for tests: answers ``answer`` and remembers every draft it was asked about."""

    def __init__(self, answer: object = True) -> None:
        self.answer = answer
        self.asked: list[Draft] = []

    def __call__(self, draft: Draft) -> object:
        self.asked.append(draft)
        return self.answer


@pytest.fixture
def opsladder_approver() -> RecordingApprover:
    """An approver that says yes (set ``.answer``) and records what it was asked."""
    return RecordingApprover()


@pytest.fixture
def opsladder_drafts(opsladder_approver: RecordingApprover) -> Drafts:
    """A drafts box of this test's own whose approver is ``opsladder_approver``."""
    return Drafts(opsladder_approver)
