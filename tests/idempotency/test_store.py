"""The idempotency store's semantics, each on SQLite and on a real redis-server."""

from __future__ import annotations

import asyncio

import pytest

from pytest_opsladder.idempotency import (
    FailurePolicy,
    IdempotencyInProgressError,
    IdempotencyLockLostError,
    IdempotencyMismatchError,
    IdempotencyStore,
    NotLockHolderError,
    StoredFailureError,
    claim,
    execute,
    idempotent,
)
from pytest_opsladder.schedule.clock import ManualClock


def test_a_repeat_returns_the_stored_result_and_runs_once(store: IdempotencyStore) -> None:
    effects: list[int] = []

    def refund() -> dict[str, object]:
        effects.append(1)
        return {"refund_id": "re_1", "amount": 12.5}

    key = store.key("refund", {"order": 1142})
    first = execute(store, key, {"order": 1142}, refund)
    second = execute(store, key, {"order": 1142}, refund)
    assert first == second == {"refund_id": "re_1", "amount": 12.5}
    assert effects == [1]


def test_a_reused_key_with_another_payload_is_a_mismatch_and_runs_nothing(
    store: IdempotencyStore,
) -> None:
    effects: list[str] = []
    execute(store, "order-1142", {"amount": 10}, lambda: effects.append("first"))
    with pytest.raises(IdempotencyMismatchError, match=r"order-1142.*nothing was executed"):
        execute(store, "order-1142", {"amount": 99}, lambda: effects.append("second"))
    assert effects == ["first"]


def test_a_second_caller_during_execution_gets_in_progress(store: IdempotencyStore) -> None:
    inner: list[str] = []
    with claim(store, "job", {}) as held:
        with pytest.raises(IdempotencyInProgressError, match="being executed by another caller"):
            execute(store, "job", {}, lambda: inner.append("ran"))
        held.result = "done"
    assert inner == []
    assert execute(store, "job", {}, lambda: "again") == "done"


def test_a_waiting_caller_gets_the_result_when_the_holder_completes(
    target: str, clock: ManualClock, workflow: str
) -> None:
    holder_claim: list[object] = []

    def sleep(_: float) -> None:  # the holder finishes while the waiter polls
        clock.advance(1)
        held = holder_claim[0]
        if not held.done:  # type: ignore[attr-defined]
            held.complete("from holder")  # type: ignore[attr-defined]

    store = IdempotencyStore.open(
        target, clock=clock, workflow=workflow, sleep=sleep, redis_server_time=False
    )
    holder_claim.append(store.acquire("k", {}))
    assert execute(store, "k", {}, lambda: "waiter ran", wait=30) == "from holder"
    store.backend.clear(workflow)


def test_waiting_gives_up_at_the_deadline(target: str, clock: ManualClock, workflow: str) -> None:
    store = IdempotencyStore.open(
        target,
        clock=clock,
        workflow=workflow,
        sleep=lambda s: clock.advance(5),
        redis_server_time=False,
    )
    store.acquire("k", {})
    with pytest.raises(IdempotencyInProgressError):
        execute(store, "k", {}, lambda: "never", wait=20)
    store.backend.clear(workflow)


def test_a_lock_expiry_of_zero_expires_at_once(store: IdempotencyStore) -> None:
    first = store.acquire("k", {"x": 1}, expiry=0)
    second = store.acquire("k", {"x": 1}, expiry=0)  # same instant: already expired
    assert second.took_over
    assert not second.replayed
    with pytest.raises(NotLockHolderError):
        first.release()
    with pytest.raises(IdempotencyLockLostError, match="taken over"):
        first.complete("late")
    second.complete("winner")
    assert execute(store, "k", {"x": 1}, lambda: "again") == "winner"


def test_a_lock_expires_after_its_lease_not_before(
    store: IdempotencyStore, clock: ManualClock
) -> None:
    store.acquire("k", {}, expiry=30)
    clock.advance(29.9)
    with pytest.raises(IdempotencyInProgressError):
        store.acquire("k", {}, expiry=30)
    clock.advance(0.1)
    assert store.acquire("k", {}, expiry=30).took_over


def test_only_the_holder_may_release(store: IdempotencyStore) -> None:
    held = store.acquire("k", {})
    with pytest.raises(NotLockHolderError, match="Only the caller that claimed"):
        store.release("k", "somebody-else")
    held.release()
    assert store.get("k") is None


def test_negative_expiry_is_a_config_error(store: IdempotencyStore) -> None:
    from pytest_opsladder.idempotency import IdempotencyConfigError

    with pytest.raises(IdempotencyConfigError, match="-1"):
        store.acquire("k", {}, expiry=-1)


def test_failure_policy_release_lets_a_retry_run(store: IdempotencyStore) -> None:
    attempts: list[int] = []

    @idempotent("charge", store=store, policy=FailurePolicy.RELEASE)
    def charge(order: int) -> str:
        attempts.append(order)
        if len(attempts) == 1:
            raise ConnectionError("gateway down")
        return "charged"

    with pytest.raises(ConnectionError):
        charge(7)
    assert charge(7) == "charged"
    assert attempts == [7, 7]


def test_failure_policy_replay_raises_the_stored_error_without_running(
    store: IdempotencyStore,
) -> None:
    attempts: list[int] = []

    @idempotent("charge", store=store, policy=FailurePolicy.REPLAY)
    def charge(order: int, token: str) -> str:
        attempts.append(order)
        raise ValueError(f"card declined for token sk-live-{token}")

    secret = "abcdefghijklmnopqrstuvwxyz123456"
    with pytest.raises(ValueError, match="declined"):
        charge(7, secret)
    with pytest.raises(StoredFailureError, match="ValueError: card declined") as info:
        charge(7, secret)
    assert attempts == [7]
    assert secret not in str(info.value)
    assert secret not in (store.get(info.value.key).error or "")  # type: ignore[union-attr]


def test_the_policy_name_is_checked() -> None:
    from pytest_opsladder.exceptions import ConfigError
    from pytest_opsladder.idempotency.store import open_backend

    with pytest.raises(ConfigError, match="Valid values are: release, replay"):
        IdempotencyStore(open_backend(":memory:"), policy="retry")


@pytest.mark.parametrize("form", ["decorator", "async decorator", "execute", "claim"])
def test_a_per_call_policy_spelled_as_a_string_is_applied(
    store: IdempotencyStore, form: str
) -> None:
    attempts: list[int] = []

    def action() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("gateway down, nothing was sent")
        return "sent"

    @idempotent("send", store=store, policy="release")
    def send(order: int) -> str:
        return action()

    @idempotent("send", store=store, policy="release")
    async def asend(order: int) -> str:
        return action()

    def via_claim() -> object:
        with claim(store, "k", {}, policy="release") as held:
            held.result = action()
        return held.result

    run = {
        "decorator": lambda: send(7),
        "async decorator": lambda: asyncio.run(asend(7)),
        "execute": lambda: execute(store, "k", {}, action, policy="release"),
        "claim": via_claim,
    }[form]
    with pytest.raises(ConnectionError):
        run()
    assert run() == "sent"  # 'release' freed the key: the retry ran
    assert len(attempts) == 2


def test_a_per_call_policy_outside_the_choices_is_refused_before_anything_runs(
    store: IdempotencyStore,
) -> None:
    from pytest_opsladder.choices import InvalidChoiceError
    from pytest_opsladder.idempotency import IdempotencyConfigError

    with pytest.raises(InvalidChoiceError, match=r"@idempotent\('send'\): policy='bogus'") as info:
        idempotent("send", store=store, policy="bogus")
    assert isinstance(info.value, IdempotencyConfigError)
    assert "Valid values are: release, replay" in str(info.value)
    ran: list[int] = []
    with pytest.raises(InvalidChoiceError, match=r"execute\(\): policy='retry'"):
        execute(store, "k", {}, lambda: ran.append(1), policy="retry")
    refused = pytest.raises(InvalidChoiceError, match=r"claim\(\): policy='Release'")
    with refused, claim(store, "k", {}, policy="Release"):
        ran.append(1)
    assert ran == []
    assert store.get("k") is None  # nothing was claimed either


@pytest.mark.parametrize("bad", ["10", -5, float("nan"), float("inf"), True])
def test_a_bad_number_of_seconds_is_a_config_error_before_anything_runs(
    store: IdempotencyStore, target: str, bad: object
) -> None:
    from pytest_opsladder.idempotency import IdempotencyConfigError, aexecute

    ran: list[int] = []

    def action() -> int:
        ran.append(1)
        return 1

    async def aaction() -> int:
        return action()

    refused = {
        "wait": lambda: execute(store, "k", {}, action, wait=bad),  # type: ignore[arg-type]
        "expiry": lambda: execute(store, "k", {}, action, expiry=bad),  # type: ignore[arg-type]
        "async wait": lambda: asyncio.run(aexecute(store, "k", {}, aaction, wait=bad)),  # type: ignore[arg-type]
        "decorator wait": lambda: idempotent("n", store=store, wait=bad),  # type: ignore[arg-type]
        "decorator expiry": lambda: idempotent("n", store=store, expiry=bad),  # type: ignore[arg-type]
        "timeout": lambda: IdempotencyStore.open(target, timeout=bad),  # type: ignore[arg-type]
        "lock_expiry": lambda: IdempotencyStore.open(target, lock_expiry=bad),  # type: ignore[arg-type]
    }
    for name, call in refused.items():
        setting = name.split()[-1]
        with pytest.raises(IdempotencyConfigError, match=rf"^{setting}={bad!r} is invalid"):
            call()
    assert ran == []
    assert store.get("k") is None


def test_store_events_land_in_the_run(store: IdempotencyStore) -> None:
    from pytest_opsladder import Case, Run, Variant
    from pytest_opsladder.capture.run import activate

    run = Run(Case("c"), Variant("v"))
    with activate(run):
        execute(store, "k", {}, lambda: 1)
        execute(store, "k", {}, lambda: 2)
        with pytest.raises(IdempotencyMismatchError):
            execute(store, "k", {"other": 1}, lambda: 3)
    assert [e.kind for e in run.events] == [
        "idempotency_execute",
        "idempotency_hit",
        "idempotency_mismatch",
    ]
    run.finish()
    assert run.metrics["idempotency_hits"] == 1
