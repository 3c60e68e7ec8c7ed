"""The errors an idempotency store raises, worded once (ladder level 2).

Each message names the key, says what happened to the action (run, not run, unknown), and the
command or setting that fixes it.
"""

from __future__ import annotations

import json

from pytest_opsladder.idempotency.errors import (
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyMismatchError,
    IdempotencyStoreError,
    IdempotencyUnrecordedError,
    StoredFailureError,
)
from pytest_opsladder.idempotency.records import Backend, Record


def mismatch(record: Record, fp: str) -> IdempotencyMismatchError:
    return IdempotencyMismatchError(
        f"idempotency key {record.key!r} was first used with payload fingerprint "
        f"{record.fingerprint[:12]}… and is now reused with {fp[:12]}…; nothing was executed. "
        "A key names one request: derive a new key for a different payload (upsert_key does).",
        key=record.key,
    )


def unrecorded(record: Record) -> IdempotencyUnrecordedError:
    why = json.loads(record.error or "{}") if (record.error or "").startswith("{") else {}
    return IdempotencyUnrecordedError(
        f"idempotency key {record.key!r} is completed_unrecorded: its action may have run, "
        f"but no result was recorded ({why.get('type', '?')}: {why.get('message', '?')}), so "
        "it is not executed again automatically. Check whether the side effect happened, then "
        "run `opsladder idempotency release STORE KEY` to let the next call execute it.",
        key=record.key,
    )


def unstorable(key: str, exc: BaseException) -> IdempotencyUnrecordedError:
    return IdempotencyUnrecordedError(
        f"idempotency key {key!r}: the action ran, but its result could not be stored "
        f"({type(exc).__name__}: {exc}); the key is now completed_unrecorded and will not run "
        "again automatically. Return JSON-serialisable results; after checking the side "
        "effect, `opsladder idempotency release STORE KEY` frees the key.",
        key=key,
    )


def store_failed(backend: Backend, key: str, op: str, exc: Exception) -> IdempotencyStoreError:
    return IdempotencyStoreError(
        f"the idempotency store {backend!r} failed during {op} of key {key!r}: "
        f"{type(exc).__name__}: {exc}. Bring the store back (is redis-server up? is the disk "
        "full? is another process holding the SQLite lock past its timeout?), or set "
        "on_store_error='open' to run actions unguarded while it is down.",
        key=key,
    )


def result_not_recorded(key: str, exc: IdempotencyStoreError) -> IdempotencyStoreError:
    return IdempotencyStoreError(
        f"idempotency key {key!r}: the action ran, but its result could not be recorded "
        f"({exc.__cause__ or exc}). The key stays locked and reads completed_unrecorded once "
        "its lock expires, so it is never executed again automatically; check the side effect "
        "and free it with `opsladder idempotency release STORE KEY`.",
        key=key,
    )


def in_progress(record: Record, now: float) -> IdempotencyInProgressError:
    left = max(0.0, record.locked_until - now)
    return IdempotencyInProgressError(
        f"idempotency key {record.key!r} is being executed by another caller (lock held for "
        f"{left:.1f} s more); nothing was executed. Retry later, or pass wait=<seconds> to "
        "wait for its result.",
        key=record.key,
    )


def stored_failure(record: Record) -> StoredFailureError:
    error = json.loads(record.error or "{}")
    return StoredFailureError(
        f"idempotency key {record.key!r} failed before with {error.get('type')}: "
        f"{error.get('message')}; the failure policy is 'replay', so it is not executed again. "
        "Clear the key (opsladder idempotency clear --key ...) to allow a new attempt.",
        key=record.key,
        error=error,
    )


def lock_lost(key: str, record: Record | None) -> IdempotencyLockLostError:
    state = record.status.value if record else "gone"
    return IdempotencyLockLostError(
        f"the in-progress lock on idempotency key {key!r} expired and was taken over (the key "
        f"is now {state!r}) before this caller recorded its result; the result was not stored. "
        "Raise lock_expiry above the action's longest runtime.",
        key=key,
    )
