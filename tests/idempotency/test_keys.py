"""Upsert keys: namespace + canonical payload, stated number rules, bounded, per workflow."""

from __future__ import annotations

import decimal

import pytest

from pytest_opsladder.idempotency import (
    IdempotencyConfigError,
    IdempotencyStore,
    canonical_payload,
    fingerprint,
    upsert_key,
)


def test_canonical_payload_sorts_keys_at_every_depth() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": None}}
    b = {"a": {"x": None, "y": [1, 2]}, "b": 1}
    assert canonical_payload(a) == canonical_payload(b) == '{"a":{"x":null,"y":[1,2]},"b":1}'


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 1.0),
        (0, -0.0),
        (decimal.Decimal("1.10"), 1.1),
        (decimal.Decimal("100"), 100),
        ((1, 2), [1, 2]),
    ],
)
def test_equal_numbers_give_equal_keys(left: object, right: object) -> None:
    assert upsert_key("pay", {"amount": left}) == upsert_key("pay", {"amount": right})


@pytest.mark.parametrize(("left", "right"), [(True, 1), (0.1, 0.10000000000000002), ("1", 1)])
def test_different_values_give_different_keys(left: object, right: object) -> None:
    assert upsert_key("pay", {"amount": left}) != upsert_key("pay", {"amount": right})


def test_long_decimals_keep_every_digit() -> None:
    a = decimal.Decimal("0.1000000000000000000001")
    b = decimal.Decimal("0.1000000000000000000002")
    assert fingerprint({"x": a}) != fingerprint({"x": b})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), decimal.Decimal("NaN")])
def test_non_finite_numbers_are_refused_with_the_place(bad: object) -> None:
    with pytest.raises(IdempotencyConfigError, match=r"at \$\.order\.total"):
        canonical_payload({"order": {"total": bad}})


def test_non_string_mapping_keys_and_sets_are_refused() -> None:
    with pytest.raises(IdempotencyConfigError, match="non-string key 1"):
        canonical_payload({1: "a"})
    with pytest.raises(IdempotencyConfigError, match="is a set"):
        canonical_payload({"tags": {"a", "b"}})


def test_keys_are_bounded_whatever_the_payload_size() -> None:
    key = upsert_key("refund", {"blob": "x" * 100_000})
    assert len(key) <= 160
    assert key.startswith("default:refund:")


def test_keys_are_scoped_per_workflow_and_namespace() -> None:
    payload = {"order": 1142}
    keys = {
        upsert_key("refund", payload, workflow="billing"),
        upsert_key("refund", payload, workflow="support"),
        upsert_key("email", payload, workflow="billing"),
    }
    assert len(keys) == 3


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "-leading", "a:b"])
def test_bad_namespaces_are_refused(name: str) -> None:
    with pytest.raises(IdempotencyConfigError, match="namespace"):
        upsert_key(name, {})


def test_keys_do_not_depend_on_the_function_name(store: IdempotencyStore) -> None:
    from pytest_opsladder.idempotency import idempotent

    calls: list[str] = []

    @idempotent("refund", store=store)
    def refund(order: int) -> str:
        calls.append("refund")
        return "ok"

    @idempotent("refund", store=store)
    def refund_v2_renamed(order: int) -> str:
        calls.append("renamed")
        return "ok"

    assert refund(1) == refund_v2_renamed(1) == "ok"
    assert calls == ["refund"]


def test_an_over_long_explicit_key_is_refused(store: IdempotencyStore) -> None:
    with pytest.raises(IdempotencyConfigError, match="1 to 160"):
        store.acquire("k" * 161, {})
