"""The decorator and context-manager APIs over :class:`IdempotencyStore` (ladder level 2).

    @idempotent("refund", key=lambda args: {"order": args["order_id"]})
    def refund(order_id: int, amount: Decimal) -> str: ...

    with claim(store, key, payload) as held:
        if not held.replayed:
            held.result = send_invoice(...)

The key comes from the namespace and the selected payload (never the function's name), the
fingerprint from every argument, so a reused key with different arguments is a mismatch.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from pytest_opsladder.idempotency.holders import abandon
from pytest_opsladder.idempotency.records import FailurePolicy
from pytest_opsladder.idempotency.store import (
    POLL_S,
    Claim,
    IdempotencyStore,
    check_expiry,
    check_wait,
    parse_policy,
)

P = ParamSpec("P")
T = TypeVar("T")
_DEFAULT: list[IdempotencyStore] = []


def set_default_store(store: IdempotencyStore | None) -> IdempotencyStore | None:
    """Make ``store`` the one ``@idempotent`` uses when given none; returns the previous one."""
    previous = _DEFAULT[0] if _DEFAULT else None
    _DEFAULT[:] = [store] if store is not None else []
    return previous


def default_store() -> IdempotencyStore:
    if not _DEFAULT:
        from pytest_opsladder.idempotency.errors import IdempotencyConfigError

        raise IdempotencyConfigError(
            "no idempotency store: pass store=IdempotencyStore.open(path_or_redis_url) to "
            "@idempotent, or call set_default_store(...) once at start-up (in tests, request "
            "the opsladder_idempotency fixture)."
        )
    return _DEFAULT[0]


def execute(
    store: IdempotencyStore,
    key: str,
    payload: Any,
    fn: Callable[[], T],
    *,
    wait: float | None = None,
    policy: FailurePolicy | str | None = None,
    expiry: float | None = None,
) -> T | Any:
    """Run ``fn`` once for ``key``; a repeat returns the stored (JSON) result."""
    chosen = _policy(policy, "execute()")
    with claim(store, key, payload, wait=wait, policy=chosen, expiry=expiry) as held:
        if not held.replayed:
            held.result = fn()
    return held.result


async def aexecute(
    store: IdempotencyStore,
    key: str,
    payload: Any,
    fn: Callable[[], Awaitable[T]],
    *,
    wait: float | None = None,
    policy: FailurePolicy | str | None = None,
    expiry: float | None = None,
) -> T | Any:
    """:func:`execute` for coroutines; waiting yields to the event loop."""
    chosen = _policy(policy, "aexecute()")
    held = await _acquire_async(store, key, payload, wait, expiry)  # claimed as started
    if held.replayed:
        return held.result
    try:
        result = await fn()
    except Exception as exc:
        store.fail(held, exc, chosen)
        raise
    except BaseException:
        abandon(held.holder)  # cancelled: nobody knows whether the side effect happened
        raise
    held.complete(result)
    return held.result


def _policy(value: FailurePolicy | str | None, where: str) -> FailurePolicy | None:
    """A per-call ``policy=`` parsed before anything is claimed (None: the store's policy)."""
    return None if value is None else parse_policy(value, where=f"{where}: policy=")


async def _acquire_async(
    store: IdempotencyStore, key: str, payload: Any, wait: float | None, expiry: float | None
) -> Claim:
    from pytest_opsladder.idempotency.errors import IdempotencyInProgressError

    wait = check_wait(wait)
    deadline = None if wait is None else store.clock() + wait
    while True:
        try:
            return store.acquire(key, payload, expiry=expiry, started=True)
        except IdempotencyInProgressError:
            if deadline is None or store.clock() >= deadline:
                raise
        await asyncio.sleep(POLL_S)


@contextmanager
def claim(
    store: IdempotencyStore,
    key: str,
    payload: Any,
    *,
    wait: float | None = None,
    policy: FailurePolicy | str | None = None,
    expiry: float | None = None,
) -> Iterator[Claim]:
    """Hold ``key`` for the block; set ``.result`` inside, it is stored when the block ends.

    An exception applies the failure policy; an interruption (KeyboardInterrupt, SystemExit)
    or a crash keeps the lock, and once it expires the key reads ``completed_unrecorded``:
    nobody knows whether the side effect happened, so it is not run again by itself.
    """
    chosen = _policy(policy, "claim()")
    held = store.acquire(key, payload, wait=wait, expiry=expiry, started=True)
    if held.replayed:
        yield held
        return
    try:
        yield held
    except Exception as exc:
        store.fail(held, exc, chosen)
        raise
    except BaseException:
        abandon(held.holder)  # interrupted: nobody knows whether the side effect happened
        raise
    held.complete(held.result)


def idempotent(
    namespace: str,
    *,
    store: IdempotencyStore | None = None,
    key: Callable[[dict[str, Any]], Any] | None = None,
    wait: float | None = None,
    policy: FailurePolicy | str | None = None,
    expiry: float | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Make a sync or async function run once per key of ``namespace``.

    ``key(args)`` picks the part of the bound arguments that identifies the request (default:
    all of them); the fingerprint always covers every argument. ``policy`` is checked here,
    when the function is decorated.
    """
    chosen_policy = _policy(policy, f"@idempotent({namespace!r})")
    check_wait(wait)  # the decorator's settings are checked once, when it is applied
    if expiry is not None:
        check_expiry(expiry, "expiry")

    def deco(fn: Callable[P, T]) -> Callable[P, T]:
        sig = inspect.signature(fn)

        def plan(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[IdempotencyStore, str, Any]:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            payload = dict(bound.arguments)
            chosen = store or default_store()
            return chosen, chosen.key(namespace, key(payload) if key else payload), payload

        if inspect.iscoroutinefunction(fn):

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                chosen, k, payload = plan(args, kwargs)
                call = functools.partial(fn, *args, **kwargs)
                return await aexecute(
                    chosen, k, payload, call, wait=wait, policy=chosen_policy, expiry=expiry
                )

            return functools.wraps(fn)(async_wrapper)  # type: ignore[return-value]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            chosen, k, payload = plan(args, kwargs)
            call = functools.partial(fn, *args, **kwargs)
            return execute(chosen, k, payload, call, wait=wait, policy=chosen_policy, expiry=expiry)

        return functools.wraps(fn)(wrapper)

    return deco
