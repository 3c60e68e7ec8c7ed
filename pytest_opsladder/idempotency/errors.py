"""Errors of the idempotency store (ladder level 2), under the package's one hierarchy.

OpsladderError
├── ConfigError
│   └── IdempotencyConfigError      a bad namespace, payload, expiry or backend URL
│       └── IdempotencyStoreOpenError   (also an IdempotencyStoreError) the store cannot open
└── IdempotencyError                base of what a caller of an idempotent action sees
    ├── IdempotencyMismatchError    same key, different payload: nothing was executed
    ├── IdempotencyInProgressError  another caller holds the key's lock right now
    ├── IdempotencyLockLostError    the lock expired and another caller took the key over
    ├── IdempotencyUnrecordedError  the action may have run, its result is not recorded
    ├── IdempotencyStoreError       the store failed (Redis down, SQLite locked/full/corrupt)
    ├── NotLockHolderError          only the holder of a lock may release or complete it
    ├── ReleaseRefusedError         `release` refused: the holder is alive or the record changed
    └── StoredFailureError          the failure policy is ``replay``: the first error again
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.exceptions import ConfigError, OpsladderError


class IdempotencyConfigError(ConfigError):
    """A namespace, payload, expiry or backend setting is invalid."""


class IdempotencyError(OpsladderError):
    """Base of the errors an idempotent action raises; ``key`` names the key involved."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class IdempotencyMismatchError(IdempotencyError):
    """The key was used before with a different payload fingerprint; nothing executed."""


class IdempotencyInProgressError(IdempotencyError):
    """Another caller is executing this key; retry later, or pass ``wait=`` seconds."""


class IdempotencyLockLostError(IdempotencyError):
    """The in-progress lock expired and another caller took the key over before completion."""


class IdempotencyUnrecordedError(IdempotencyError):
    """The key is ``completed_unrecorded``: its side effect may have happened but no result is
    stored. It is never executed again automatically; ``opsladder idempotency release`` frees
    it once an operator has checked the side effect."""


class IdempotencyStoreError(IdempotencyError):
    """The store's backend failed; with ``on_store_error='closed'`` nothing was executed (or,
    after the action, its result could not be recorded). ``key`` is "" for store-wide work."""

    def __init__(self, message: str, *, key: str = "") -> None:
        super().__init__(message, key=key)


class IdempotencyStoreOpenError(IdempotencyStoreError, IdempotencyConfigError):
    """The store could not be opened: an unreachable Redis, or a SQLite path that is not a
    usable database file (a directory, a FIFO, a corrupt or unreadable file)."""


class NotLockHolderError(IdempotencyError):
    """A caller that does not hold the key's lock tried to release or complete it."""


class ReleaseRefusedError(IdempotencyError):
    """``opsladder idempotency release`` freed nothing: the key's holder still runs on this host
    (it may yet do the side effect), or the record changed since it was inspected."""


class StoredFailureError(IdempotencyError):
    """The first execution failed and the failure policy is ``replay``: its error, again."""

    def __init__(self, message: str, *, key: str, error: dict[str, Any]) -> None:
        super().__init__(message, key=key)
        self.error = error
