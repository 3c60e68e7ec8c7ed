"""The shared JSON reader: orjson's speed, json's exactness where a value is compared or
written back (integers past 64 bits, NaN and Infinity)."""

from __future__ import annotations

import base64
import json
import math

import pytest

from pytest_opsladder._json import loads, loads_exact, may_round
from pytest_opsladder.secrets import redact_secrets

BIG = [123456789012345678901, -9223372036854775809, 18446744073709551616, 10**40]


@pytest.mark.parametrize("value", BIG)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_loads_exact_keeps_every_integer(value: int, as_bytes: bool) -> None:
    text = json.dumps({"id": value, "é": [value]})
    data = loads_exact(text.encode() if as_bytes else text)
    assert data == {"id": value, "é": [value]}
    assert type(data["id"]) is int


def test_loads_reads_what_orjson_refuses_and_rounds_only_past_64_bits() -> None:
    assert math.isnan(loads('{"x": NaN}')["x"])
    assert loads(b"[Infinity]") == [math.inf]
    assert loads("18446744073709551615") == 18446744073709551615  # the largest u64: exact
    assert loads("-9223372036854775808") == -9223372036854775808  # the smallest i64: exact
    assert loads("123456789012345678901") == 1.2345678901234568e20  # documented: rounded
    assert math.isnan(loads_exact('{"x": NaN}')["x"])


def test_may_round_needs_19_digits_in_a_row() -> None:
    assert not may_round('{"a": 123456789012345678, "b": "1234567890.12345678"}')
    assert may_round('{"a": 1234567890123456789}')
    assert may_round(b"x1234567890123456789")
    assert may_round("\udc80 1234567890123456789")  # a lone surrogate does not break it


@pytest.mark.parametrize(
    "note",
    [
        "db_password=Xy7!pQ2vLm9#",
        base64.b64encode(b"key=sk-proj-" + b"A1b2C3d4" * 4).decode(),
    ],
)
def test_a_redacted_body_keeps_its_big_integers(note: str) -> None:
    # secrets the scanner (not the field-name rules) masks: it writes the body back from its
    # parsed value, which rounded the order id to 1.2345678901234568e+20
    body = json.dumps({"order": 123456789012345678901, "note": note})
    redacted = redact_secrets({"request": {"body": {"text": body}}})
    text = redacted["request"]["body"]["text"]
    assert "[REDACTED]" in text
    assert note not in text
    assert json.loads(text)["order"] == 123456789012345678901
