"""The idempotency store (ladder level 2): run an action once per key, whoever calls it.

    store = IdempotencyStore.open("state/idempotency.sqlite")      # or "redis://host:6379/0"
    result = store.execute(store.key("refund", {"order": 1142}), payload, lambda: refund(1142))

Semantics (each is tested): a completed key returns its stored result without executing; the
same key with a different payload fingerprint raises :class:`IdempotencyMismatchError` and
executes nothing; among concurrent callers exactly one executes, the others get
:class:`IdempotencyInProgressError` (or wait, with ``wait=``); the in-progress lock expires after
``lock_expiry`` seconds (0 is a lock that expires at once, not "no expiry") and only its holder
can complete or release it; a failure either frees the key or is stored and replayed, as the
:class:`FailurePolicy` says. Results are stored as JSON: a repeat returns the JSON form.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_opsladder.capture.jsonable import to_jsonable
from pytest_opsladder.capture.run import emit
from pytest_opsladder.idempotency import events as ev
from pytest_opsladder.idempotency.errors import (
    IdempotencyConfigError,
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyMismatchError,
    NotLockHolderError,
    StoredFailureError,
)
from pytest_opsladder.idempotency.keys import DEFAULT_WORKFLOW, check_key, fingerprint, upsert_key
from pytest_opsladder.idempotency.records import Backend, FailurePolicy, Record, Status
from pytest_opsladder.observability.redaction import redact_text

DEFAULT_LOCK_EXPIRY_S = 60.0
POLL_S = 0.05


@dataclass
class Claim:
    """A caller's hold on a key: ``replayed`` (stored ``result``) or held (set ``result``)."""

    store: IdempotencyStore
    key: str
    fingerprint: str
    holder: str
    replayed: bool
    result: Any = None
    took_over: bool = False
    done: bool = field(default=False, repr=False)

    def complete(self, result: Any = None) -> Any:
        """Store ``result`` for every repeat; raises if the lock was lost meanwhile."""
        self.result = to_jsonable(result, tool=self.key, path="result")
        self.store._complete(self)
        return result

    def release(self) -> None:
        """Free the key so that the next caller executes (only the holder may)."""
        self.store.release(self.key, self.holder)
        self.done = True


def _check_expiry(value: float) -> float:
    if not isinstance(value, int | float) or value < 0 or value != value:
        raise IdempotencyConfigError(
            f"lock_expiry {value!r} is invalid: give the seconds an in-progress lock is held "
            "(0 or more; 0 means the lock expires at once and the next caller takes over)."
        )
    return float(value)


class IdempotencyStore:
    """Check-and-record over a :class:`Backend`, with an injectable clock (epoch seconds)."""

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Callable[[], float] = time.time,
        lock_expiry: float = DEFAULT_LOCK_EXPIRY_S,
        policy: FailurePolicy | str = FailurePolicy.RELEASE,
        workflow: str = DEFAULT_WORKFLOW,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.lock_expiry = _check_expiry(lock_expiry)
        self.policy = FailurePolicy(FailurePolicy.parse(policy, setting="failure policy"))
        self.workflow = workflow
        self.sleep = sleep

    @classmethod
    def open(
        cls, target: str | Path, *, redis_server_time: bool = True, **kwargs: Any
    ) -> IdempotencyStore:
        """A store on ``redis://...`` or on a SQLite file (a path or ``sqlite:///path``)."""
        return cls(open_backend(target, redis_server_time=redis_server_time), **kwargs)

    def key(self, namespace: str, payload: Any) -> str:
        """The upsert key of ``payload`` in ``namespace``, scoped to this store's workflow."""
        return upsert_key(namespace, payload, workflow=self.workflow)

    def scoped(self, key: str) -> str:
        """``key`` under this store's workflow (a key from :meth:`key` already is)."""
        prefix = f"{self.workflow}:"
        return check_key(key if key.startswith(prefix) else prefix + key)

    # -- claiming ------------------------------------------------------------------------
    def acquire(
        self, key: str, payload: Any, *, wait: float | None = None, expiry: float | None = None
    ) -> Claim:
        """Claim ``key`` or get its stored result; raises mismatch / in-progress / stored error."""
        key, fp, holder = self.scoped(key), fingerprint(payload), uuid.uuid4().hex
        lease = self.lock_expiry if expiry is None else _check_expiry(expiry)
        deadline = None if wait is None else self.clock() + wait
        while True:
            begun = self.backend.begin(key, fp, holder, self.clock(), lease)
            if begun is None:
                continue  # released between the insert attempt and the read: try again
            if begun.acquired:
                emit(ev.IDEMPOTENCY_EXECUTE, key, {"took_over": begun.took_over})
                return Claim(self, key, fp, holder, False, took_over=begun.took_over)
            claim = self._blocked(begun.record, fp, deadline)
            if claim is not None:
                return claim
            self.sleep(POLL_S)

    def _blocked(self, record: Record, fp: str, deadline: float | None) -> Claim | None:
        if record.fingerprint != fp:
            emit(ev.IDEMPOTENCY_MISMATCH, record.key, {"stored": record.fingerprint[:12]})
            raise _mismatch(record, fp)
        if record.status is Status.COMPLETED:
            emit(ev.IDEMPOTENCY_HIT, record.key, {"status": record.status.value})
            result = json.loads(record.result) if record.result is not None else None
            return Claim(self, record.key, fp, record.holder, True, result, done=True)
        if record.status is Status.FAILED:
            emit(ev.IDEMPOTENCY_HIT, record.key, {"status": record.status.value})
            raise _stored_failure(record)
        if deadline is None or self.clock() >= deadline:
            emit(ev.IDEMPOTENCY_IN_PROGRESS, record.key, {"locked_until": record.locked_until})
            raise _in_progress(record, self.clock())
        return None

    # -- finishing -----------------------------------------------------------------------
    def _complete(self, claim: Claim) -> None:
        if claim.replayed or claim.done:
            return
        text = json.dumps(claim.result, sort_keys=True)
        if not self.backend.complete(claim.key, claim.holder, text, self.clock()):
            raise _lock_lost(claim.key, self.backend.get(claim.key))
        claim.done = True

    def release(self, key: str, holder: str) -> None:
        """Free an in-progress key; only ``holder`` (the claim's id) may."""
        key = self.scoped(key)
        if not self.backend.release(key, holder):
            raise NotLockHolderError(
                f"cannot release idempotency key {key!r}: holder {holder[:8]!r} does not hold "
                "its in-progress lock (it completed, expired and was taken over, or belongs "
                "to another caller). Only the caller that claimed a key can release it.",
                key=key,
            )

    def fail(self, claim: Claim, exc: BaseException, policy: FailurePolicy | None = None) -> None:
        """Apply the failure policy to a held claim whose action raised ``exc``."""
        if claim.replayed or claim.done:
            return
        claim.done = True
        if (policy or self.policy) is FailurePolicy.RELEASE:
            self.backend.release(claim.key, claim.holder)
            return
        error = {"type": type(exc).__name__, "message": redact_text(str(exc))}
        self.backend.fail(claim.key, claim.holder, json.dumps(error), self.clock())

    def get(self, key: str) -> Record | None:
        return self.backend.get(self.scoped(key))

    def close(self) -> None:
        self.backend.close()


def open_backend(target: str | Path, *, redis_server_time: bool = True) -> Backend:
    """A backend from a URL or path: ``redis://``/``rediss://`` or a SQLite file.

    ``redis_server_time=False`` makes a Redis store follow the store's (injected) clock
    instead of the server's, for tests that move time by hand.
    """
    text = str(target)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from pytest_opsladder.idempotency.redis_backend import RedisBackend

        return RedisBackend(text, server_time=redis_server_time)
    from pytest_opsladder.idempotency.sqlite_backend import SqliteBackend

    return SqliteBackend(text.removeprefix("sqlite:///").removeprefix("sqlite://"))


def _mismatch(record: Record, fp: str) -> IdempotencyMismatchError:
    return IdempotencyMismatchError(
        f"idempotency key {record.key!r} was first used with payload fingerprint "
        f"{record.fingerprint[:12]}… and is now reused with {fp[:12]}…; nothing was executed. "
        "A key names one request: derive a new key for a different payload (upsert_key does).",
        key=record.key,
    )


def _in_progress(record: Record, now: float) -> IdempotencyInProgressError:
    left = max(0.0, record.locked_until - now)
    return IdempotencyInProgressError(
        f"idempotency key {record.key!r} is being executed by another caller (lock held for "
        f"{left:.1f} s more); nothing was executed. Retry later, or pass wait=<seconds> to "
        "wait for its result.",
        key=record.key,
    )


def _stored_failure(record: Record) -> StoredFailureError:
    error = json.loads(record.error or "{}")
    return StoredFailureError(
        f"idempotency key {record.key!r} failed before with {error.get('type')}: "
        f"{error.get('message')}; the failure policy is 'replay', so it is not executed again. "
        "Clear the key (opsladder idempotency clear --key ...) to allow a new attempt.",
        key=record.key,
        error=error,
    )


def _lock_lost(key: str, record: Record | None) -> IdempotencyLockLostError:
    state = record.status.value if record else "gone"
    return IdempotencyLockLostError(
        f"the in-progress lock on idempotency key {key!r} expired and was taken over (the key "
        f"is now {state!r}) before this caller recorded its result; the result was not stored. "
        "Raise lock_expiry above the action's longest runtime.",
        key=key,
    )
