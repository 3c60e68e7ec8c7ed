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

Under crashes (docs/faults.md): the payload fingerprint is written with the claim, so a retry
with another payload is a mismatch even after a crash. A *started* claim (the default, and what
:func:`~pytest_opsladder.idempotency.api.execute`, ``claim`` and ``@idempotent`` make) whose
lock expires is taken over only by the process that holds it (its holder is just slow); seen
from any other process the holder may have crashed after the side effect, so the key becomes
``completed_unrecorded`` and raises :class:`IdempotencyUnrecordedError`, as does a key whose
result could not be stored. A backend failure raises :class:`IdempotencyStoreError`
(``on_store_error='closed'``) or runs the action unguarded (``'open'``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from pytest_opsladder.capture.jsonable import to_jsonable
from pytest_opsladder.capture.run import emit
from pytest_opsladder.choices import parse_choice
from pytest_opsladder.idempotency import events as ev
from pytest_opsladder.idempotency import messages as msg
from pytest_opsladder.idempotency.errors import (
    IdempotencyConfigError,
    IdempotencyError,
    IdempotencyStoreError,
    IdempotencyStoreOpenError,
    NotLockHolderError,
)
from pytest_opsladder.idempotency.holders import abandon, held_here, new_holder
from pytest_opsladder.idempotency.keys import DEFAULT_WORKFLOW, check_key, fingerprint, upsert_key
from pytest_opsladder.idempotency.records import (
    Backend,
    FailurePolicy,
    OnStoreError,
    Record,
    Status,
)
from pytest_opsladder.observability.redaction import redact_text

_LOST = '{"type": "HolderLost", "message": "another process started the action (it may have '
_LOST += 'crashed) and its lock expired without a recorded result"}'
DEFAULT_LOCK_EXPIRY_S = 60.0
POLL_S = 0.05
R = TypeVar("R")


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
    unguarded: bool = False  # the store was down and on_store_error='open': nothing is kept

    def start(self) -> None:
        """Say the side effect begins: from now on this key is never taken over on expiry."""
        if not self.replayed and not self.done and not self.unguarded:
            self.store._start(self)

    def complete(self, result: Any = None) -> Any:
        """Store ``result`` for every repeat; raises if the lock was lost meanwhile, and
        :class:`IdempotencyUnrecordedError` if the result cannot be stored (the key is then
        ``completed_unrecorded``: never executed again automatically)."""
        try:
            self.result = to_jsonable(result, tool=self.key, path="result")
            text = json.dumps(self.result, sort_keys=True, allow_nan=False)
        except Exception as exc:  # whatever makes a result unstorable, the side effect is done
            self.store._unrecorded(self, exc)
        self.store._complete(self, text)
        return result

    def release(self) -> None:
        """Free the key so that the next caller executes (only the holder may)."""
        self.store.release(self.key, self.holder)
        self.done = True


def check_seconds(value: object, setting: str, meaning: str) -> float:
    """``value`` as float if it is a finite number of seconds >= 0, else IdempotencyConfigError
    naming ``setting``; a bool, a string, NaN or infinity is refused at the API boundary."""
    real = isinstance(value, int | float) and not isinstance(value, bool)
    if real and math.isfinite(value) and value >= 0:  # type: ignore[arg-type,operator]
        return float(value)  # type: ignore[arg-type]
    raise IdempotencyConfigError(
        f"{setting}={value!r} is invalid: give {meaning} as a finite number of seconds, 0 or "
        "more (not negative, NaN, infinity, a bool or a string)."
    )


def check_expiry(value: object, setting: str = "lock_expiry") -> float:
    return check_seconds(
        value,
        setting,
        "the time an in-progress lock is held (0 means the lock expires at once and the next "
        "caller takes over)",
    )


def check_wait(value: object) -> float | None:
    """``wait=``: None (do not wait) or the seconds to wait for another caller's result."""
    if value is None:
        return None
    return check_seconds(value, "wait", "how long to wait for another caller's result")


def parse_policy(value: object, *, where: str) -> FailurePolicy:
    """The :class:`FailurePolicy` for ``value`` (a member or its name), for the store and for
    every per-call ``policy=``; anything else is an IdempotencyConfigError (also an
    InvalidChoiceError) that starts with ``where``, the place it was given."""
    return parse_choice(
        FailurePolicy,
        value,
        setting="failure policy",
        error=IdempotencyConfigError,
        where=where,
        fix="Give 'release' (a failure frees the key, a retry runs) or 'replay' (the error is "
        "stored and raised again), as a string or FailurePolicy member.",
    )


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
        on_store_error: OnStoreError | str = OnStoreError.CLOSED,
    ) -> None:
        self.backend = backend
        self.on_store_error = OnStoreError(
            OnStoreError.parse(on_store_error, setting="on_store_error")
        )
        self.clock = clock
        self.lock_expiry = check_expiry(lock_expiry)
        self.policy = parse_policy(policy, where="IdempotencyStore(policy=...): ")
        self.workflow = workflow
        self.sleep = sleep

    @classmethod
    def open(
        cls,
        target: str | Path,
        *,
        redis_server_time: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> IdempotencyStore:
        """A store on ``redis://...`` or on a SQLite file (a path or ``sqlite:///path``);
        ``timeout`` bounds SQLite's wait for its lock and Redis's socket operations."""
        backend = open_backend(target, redis_server_time=redis_server_time, timeout=timeout)
        return cls(backend, **kwargs)

    def key(self, namespace: str, payload: Any) -> str:
        """The upsert key of ``payload`` in ``namespace``, scoped to this store's workflow."""
        return upsert_key(namespace, payload, workflow=self.workflow)

    def scoped(self, key: str) -> str:
        """``key`` under this store's workflow (a key from :meth:`key` already is)."""
        prefix = f"{self.workflow}:"
        return check_key(key if key.startswith(prefix) else prefix + key)

    # -- claiming ------------------------------------------------------------------------
    def acquire(
        self,
        key: str,
        payload: Any,
        *,
        wait: float | None = None,
        expiry: float | None = None,
        started: bool = True,
    ) -> Claim:
        """Claim ``key`` or get its stored result; raises mismatch / in-progress / stored error.

        A started claim (the default) counts the side effect as begun: if its lock expires, any
        other process finds the key ``completed_unrecorded`` instead of taking it over.
        ``started=False`` is for side effects that are safe to repeat (an upsert keyed by the
        same key): an expired lock is then taken over by anyone; call :meth:`Claim.start`
        before a side effect that is not."""
        key, fp, holder = self.scoped(key), fingerprint(payload), new_holder()
        lease = self.lock_expiry if expiry is None else check_expiry(expiry, "expiry")
        wait = check_wait(wait)
        deadline = None if wait is None else self.clock() + wait
        takeover_of = ""
        while True:
            try:
                begun = self._call(
                    key,
                    self.backend.begin,
                    key,
                    fp,
                    holder,
                    self.clock(),
                    lease,
                    started,
                    takeover_of,
                )
            except IdempotencyStoreError as exc:
                return self._store_down(key, fp, holder, exc)
            if begun is None:
                continue  # released between the insert attempt and the read: try again
            if begun.acquired:
                emit(ev.IDEMPOTENCY_EXECUTE, key, {"took_over": begun.took_over})
                return Claim(self, key, fp, holder, False, took_over=begun.took_over)
            if begun.expired_started and begun.record.fingerprint == fp:
                takeover_of = self._expired_started(begun.record)
                continue
            claim = self._blocked(begun.record, fp, deadline)
            if claim is not None:
                return claim
            self.sleep(POLL_S)

    def _expired_started(self, record: Record) -> str:
        """A started lock expired: take it over if this process holds it (only slow), else mark
        the key unrecorded (it may have done the side effect). Returns whom to take over."""
        if held_here(record.holder):
            return record.holder
        self._call(record.key, self.backend.lose, record.key, record.holder, _LOST, self.clock())
        return ""

    def _call(self, key: str, op: Callable[..., R], *args: Any) -> R:
        """Run a backend operation; any failure of the backend is an IdempotencyStoreError."""
        try:
            return op(*args)
        except IdempotencyError:
            raise
        except Exception as exc:  # sqlite3, redis, OSError ...: all mean "the store failed"
            raise msg.store_failed(self.backend, key, op.__name__, exc) from exc

    def _store_down(self, key: str, fp: str, holder: str, exc: IdempotencyStoreError) -> Claim:
        data = {"policy": self.on_store_error.value, "error": str(exc.__cause__ or exc)}
        emit(ev.IDEMPOTENCY_STORE_DOWN, key, data)
        if self.on_store_error is OnStoreError.CLOSED:
            raise exc
        return Claim(self, key, fp, holder, False, unguarded=True)

    def _blocked(self, record: Record, fp: str, deadline: float | None) -> Claim | None:
        if record.fingerprint != fp:
            emit(ev.IDEMPOTENCY_MISMATCH, record.key, {"stored": record.fingerprint[:12]})
            raise msg.mismatch(record, fp)
        if record.status is Status.COMPLETED_UNRECORDED:
            emit(ev.IDEMPOTENCY_UNRECORDED, record.key, {"error": record.error})
            raise msg.unrecorded(record)
        if record.status is Status.COMPLETED:
            emit(ev.IDEMPOTENCY_HIT, record.key, {"status": record.status.value})
            result = json.loads(record.result) if record.result is not None else None
            return Claim(self, record.key, fp, record.holder, True, result, done=True)
        if record.status is Status.FAILED:
            emit(ev.IDEMPOTENCY_HIT, record.key, {"status": record.status.value})
            raise msg.stored_failure(record)
        if deadline is None or self.clock() >= deadline:
            emit(ev.IDEMPOTENCY_IN_PROGRESS, record.key, {"locked_until": record.locked_until})
            raise msg.in_progress(record, self.clock())
        return None

    # -- finishing -----------------------------------------------------------------------
    def _start(self, claim: Claim) -> None:
        if not self._call(claim.key, self.backend.start, claim.key, claim.holder):
            raise msg.lock_lost(claim.key, self.backend.get(claim.key))

    def _complete(self, claim: Claim, text: str) -> None:
        if claim.replayed or claim.done or claim.unguarded:
            return
        try:
            stored = self._call(
                claim.key, self.backend.complete, claim.key, claim.holder, text, self.clock()
            )
        except IdempotencyStoreError as exc:
            claim.done = True
            return self._record_lost(claim, exc)
        if not stored:
            raise msg.lock_lost(claim.key, self.backend.get(claim.key))
        claim.done = True

    def _record_lost(self, claim: Claim, exc: IdempotencyStoreError) -> None:
        """The action ran but the store failed: the key stays locked, then reads unrecorded."""
        abandon(claim.holder)
        emit(ev.IDEMPOTENCY_STORE_DOWN, claim.key, {"policy": self.on_store_error.value})
        if self.on_store_error is OnStoreError.CLOSED:
            raise msg.result_not_recorded(claim.key, exc) from exc

    def _unrecorded(self, claim: Claim, exc: BaseException) -> NoReturn:
        """The result cannot be stored: mark the key so that it never runs again by itself."""
        reason = {"type": type(exc).__name__, "message": redact_text(str(exc))[:500]}
        claim.done = True
        abandon(claim.holder)
        if not claim.replayed and not claim.unguarded:
            self._call(
                claim.key,
                self.backend.unrecorded,
                claim.key,
                claim.holder,
                json.dumps(reason),
                self.clock(),
            )
        emit(ev.IDEMPOTENCY_UNRECORDED, claim.key, {"error": reason})
        raise msg.unstorable(claim.key, exc) from exc

    def release(self, key: str, holder: str) -> None:
        """Free an in-progress key; only ``holder`` (the claim's id) may."""
        key = self.scoped(key)
        if not self._call(key, self.backend.release, key, holder):
            raise NotLockHolderError(
                f"cannot release idempotency key {key!r}: holder {holder[:8]!r} does not hold "
                "its in-progress lock (it completed, expired and was taken over, or belongs "
                "to another caller). Only the caller that claimed a key can release it.",
                key=key,
            )

    def fail(
        self, claim: Claim, exc: BaseException, policy: FailurePolicy | str | None = None
    ) -> None:
        """Apply the failure policy (``policy``, else the store's) to a held claim whose action
        raised ``exc``."""
        chosen = self.policy if policy is None else parse_policy(policy, where="fail(policy=...): ")
        if claim.replayed or claim.done or claim.unguarded:
            return
        claim.done = True
        try:
            self._apply_policy(claim, exc, chosen)
        except IdempotencyStoreError as store_exc:  # keep the action's own error on top
            exc.add_note(f"opsladder: {store_exc}")
            emit(ev.IDEMPOTENCY_STORE_DOWN, claim.key, {"policy": self.on_store_error.value})

    def _apply_policy(self, claim: Claim, exc: BaseException, policy: FailurePolicy) -> None:
        if policy is FailurePolicy.RELEASE:
            self._call(claim.key, self.backend.release, claim.key, claim.holder)
            return
        error = {"type": type(exc).__name__, "message": redact_text(str(exc))}
        text = json.dumps(error)
        self._call(claim.key, self.backend.fail, claim.key, claim.holder, text, self.clock())

    def get(self, key: str) -> Record | None:
        key = self.scoped(key)
        return self._call(key, self.backend.get, key)

    def close(self) -> None:
        self.backend.close()


def open_backend(
    target: str | Path, *, redis_server_time: bool = True, timeout: float | None = None
) -> Backend:
    """A backend from a URL or path: ``redis://``/``rediss://`` or a SQLite file.

    ``redis_server_time=False`` makes a Redis store follow the store's (injected) clock
    instead of the server's, for tests that move time by hand. ``timeout`` (seconds) bounds
    SQLite's wait for a locked database (default 10) and Redis socket operations (default 5).
    """
    if timeout is not None:
        check_seconds(timeout, "timeout", "how long to wait for a locked SQLite file or Redis")
    text = str(target)
    scheme = _scheme(target)
    if scheme in ("redis", "rediss", "unix"):
        from pytest_opsladder.idempotency.redis_backend import RedisBackend

        url = scheme + text[len(scheme) :]  # the redis client accepts lower-case schemes only
        return RedisBackend(url, server_time=redis_server_time, socket_timeout_s=timeout or 5.0)
    from pytest_opsladder.idempotency.sqlite_backend import SqliteBackend

    path = text[len("sqlite://") :].removeprefix("/") if scheme == "sqlite" else text
    return SqliteBackend(path, busy_timeout_s=10.0 if timeout is None else timeout)


def sqlite_file(target: str | Path) -> Path | None:
    """The SQLite file :func:`open_backend` would open for ``target``; None for Redis."""
    scheme = _scheme(target)
    if scheme in ("redis", "rediss", "unix"):
        return None
    text = str(target)
    return Path(text[len("sqlite://") :].removeprefix("/") if scheme == "sqlite" else text)


_SUPPORTED = "redis://host:port/db, rediss://host:port/db, unix:///path/redis.sock, "
_SUPPORTED += "sqlite:///path/to/file.sqlite, or a plain file path"


def _scheme(target: str | Path) -> str:
    """The lower-cased URL scheme of a store target ("" for a file path). A target that looks
    like a URL (``name:`` first) but is not one of the supported forms is refused: silently
    opening a local SQLite file named ``mysql:/db/idem`` would drop the store's guarantee."""
    if isinstance(target, Path):
        return ""  # a Path is a file, whatever its name
    head = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", target)
    if head is None:
        return ""  # a path (a Windows drive letter, "C:", is one letter: a path too)
    scheme = head.group(1).lower()
    known = scheme in ("redis", "rediss", "unix", "sqlite")
    if known and target[head.end() :].startswith("//"):
        return scheme
    why = f"'{head.group(1)}:' must be followed by '//'" if known else "its scheme is unsupported"
    raise IdempotencyStoreOpenError(
        f"cannot open the idempotency store {target!r}: it looks like a URL, but {why}. Give "
        f"one of: {_SUPPORTED} (a file whose name contains ':' is written ./{target})."
    )
