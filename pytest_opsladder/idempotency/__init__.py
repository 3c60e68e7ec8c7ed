"""Ladder level 2, idempotency: upsert keys, an idempotency store, and guarded writes.

Importing this package registers its event kinds; backends (SQLite, Redis) load on demand.
"""

from __future__ import annotations

from pytest_opsladder.idempotency.api import (
    aexecute,
    claim,
    default_store,
    execute,
    idempotent,
    set_default_store,
)
from pytest_opsladder.idempotency.errors import (
    IdempotencyConfigError,
    IdempotencyError,
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyMismatchError,
    IdempotencyStoreError,
    IdempotencyStoreOpenError,
    IdempotencyUnrecordedError,
    NotLockHolderError,
    ReleaseRefusedError,
    StoredFailureError,
)
from pytest_opsladder.idempotency.keys import canonical_payload, fingerprint, upsert_key
from pytest_opsladder.idempotency.records import FailurePolicy, OnStoreError, Record, Status
from pytest_opsladder.idempotency.store import Claim, IdempotencyStore, open_backend
from pytest_opsladder.idempotency.writes import declared_writes, sqlite_upsert

__all__ = [
    "Claim",
    "FailurePolicy",
    "IdempotencyConfigError",
    "IdempotencyError",
    "IdempotencyInProgressError",
    "IdempotencyLockLostError",
    "IdempotencyMismatchError",
    "IdempotencyStore",
    "IdempotencyStoreError",
    "IdempotencyStoreOpenError",
    "IdempotencyUnrecordedError",
    "NotLockHolderError",
    "OnStoreError",
    "Record",
    "ReleaseRefusedError",
    "Status",
    "StoredFailureError",
    "aexecute",
    "canonical_payload",
    "claim",
    "declared_writes",
    "default_store",
    "execute",
    "fingerprint",
    "idempotent",
    "open_backend",
    "set_default_store",
    "sqlite_upsert",
    "upsert_key",
]
