"""What an idempotency backend stores per key, and the contract every backend keeps (level 2).

A backend does a few atomic things: ``begin`` (claim a free key, take over an expired lock
whose side effect never started or whose holder is known alive, or return the record that
stands in the way), ``lose`` (turn an expired *started* lock of a dead holder into
``completed_unrecorded``), ``start``, ``complete``, ``fail`` and ``unrecorded`` (only for the
holder of the lock), ``release`` (only for the holder) and ``release_record`` (an operator's
compare-and-delete of the exact record it inspected).
Everything else (payload fingerprints, failure policy, waiting, events) lives in
:mod:`pytest_opsladder.idempotency.store`, so the SQLite and Redis backends cannot disagree on
semantics. The fingerprint is written with the claim, before any side effect, so a retry with
another payload after a crash is a mismatch, never a takeover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pytest_opsladder.modes import _ChoiceEnum


class Status(_ChoiceEnum):
    """The state of a key: executing now, done (result stored), failed (error stored), or
    ``completed_unrecorded``: the side effect may have run but no result could be recorded (the
    result was not storable, or the holder died after starting it). Such a key is never executed
    again automatically; ``opsladder idempotency release`` frees it."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPLETED_UNRECORDED = "completed_unrecorded"


class OnStoreError(_ChoiceEnum):
    """What the store does when its backend fails (Redis down, SQLite locked or full).

    ``closed`` (the default): raise :class:`IdempotencyStoreError` and execute nothing.
    ``open``: run the action unguarded (no claim, no record) and emit an event: availability
    over exactly-once, for actions that are harmless to repeat.
    """

    CLOSED = "closed"
    OPEN = "open"


class FailurePolicy(_ChoiceEnum):
    """What a failed execution leaves behind.

    ``release``: the key is freed, so a retry executes again (use when a failure means the side
    effect did not happen). ``replay``: the error is stored and every repeat raises it again
    without executing (use when a retry could duplicate a partial side effect).
    """

    RELEASE = "release"
    REPLAY = "replay"


@dataclass(frozen=True)
class Record:
    """One key's stored state. ``result``/``error`` are JSON text; times are epoch seconds."""

    key: str
    fingerprint: str
    status: Status
    holder: str
    locked_until: float
    result: str | None
    error: str | None
    created_at: float
    updated_at: float
    takeovers: int = 0
    started: bool = False  # the holder said its side effect began: never taken over

    def effective_status(self, now: float) -> Status:
        """The status to show: an expired started lock is unrecorded (unless its holder turns
        out to be alive when a caller next claims the key)."""
        expired = self.status is Status.IN_PROGRESS and self.locked_until <= now
        return Status.COMPLETED_UNRECORDED if expired and self.started else self.status

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["status"] = self.status.value
        return out


@dataclass(frozen=True)
class Begin:
    """The outcome of ``begin``: acquired (the record is ours) or blocked by ``record``."""

    acquired: bool
    record: Record
    took_over: bool = False
    expired_started: bool = False  # blocked by a started lock that expired: is its holder alive?


class Backend(Protocol):
    """Atomic storage of :class:`Record` by key (SQLite by default, Redis for several hosts)."""

    def begin(
        self,
        key: str,
        fp: str,
        holder: str,
        now: float,
        expiry: float,
        started: bool,
        takeover_of: str = "",
    ) -> Begin | None:
        """Claim ``key``; None means the record vanished under us (the caller retries).

        An expired lock with the same fingerprint is taken over if its side effect never
        started, or if its holder is ``takeover_of`` (a holder the store found alive); any
        other expired started lock blocks with ``expired_started`` set."""

    def lose(self, key: str, holder: str, reason: str, now: float) -> bool:
        """Mark ``key`` ``completed_unrecorded`` if ``holder`` still holds its expired lock."""

    def start(self, key: str, holder: str) -> bool:
        """Mark the held lock as started (the side effect begins); False if not the holder."""

    def complete(self, key: str, holder: str, result: str, now: float) -> bool:
        """Store the result if ``holder`` still holds the lock; False otherwise."""

    def fail(self, key: str, holder: str, error: str, now: float) -> bool:
        """Store the error if ``holder`` still holds the lock; False otherwise."""

    def unrecorded(self, key: str, holder: str, reason: str, now: float) -> bool:
        """Mark the held key ``completed_unrecorded`` with ``reason`` (JSON) as its error."""

    def release(self, key: str, holder: str) -> bool:
        """Delete the in-progress record if ``holder`` holds it; False otherwise."""

    def release_record(self, seen: Record) -> bool:
        """Delete ``seen.key`` only if its record is still ``seen`` (same holder, status, lock
        deadline, update time, started flag); False if it changed or is gone."""

    def get(self, key: str) -> Record | None: ...

    def delete(self, key: str) -> bool:
        """Remove ``key`` whatever its state (an operator's clear); True if it existed."""

    def records(self, prefix: str = "") -> list[Record]: ...

    def clear(self, prefix: str = "") -> int: ...

    def close(self) -> None: ...
