"""Upsert keys (ladder level 2): namespace + canonical payload, independent of function names.

The canonical payload is JSON with sorted keys and no whitespace, with these number rules so
that equal amounts give equal keys whichever type the caller happened to hold:

- ``bool`` is not a number: ``True`` and ``1`` differ;
- an integral float is its integer (``1.0`` == ``1``); ``-0.0`` is ``0``;
- other floats are written with Python's shortest round-trip repr (``0.1`` stays ``0.1``);
- a ``Decimal`` is converted exactly (``Decimal("1.10")`` == ``1.1``);
- NaN and infinities are refused: they have no stable meaning as a key.

Mapping keys must be strings; tuples are lists; sets are refused (their order is not stable).
A key is ``<workflow>:<namespace>:<sha256 of the canonical payload>``: bounded in length
(at most :data:`MAX_KEY_LENGTH`), scoped per workflow, and the same whatever function uses it.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from pytest_opsladder.idempotency.errors import IdempotencyConfigError

MAX_KEY_LENGTH = 160
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
DEFAULT_WORKFLOW = "default"


def canonical_payload(payload: Any) -> str:
    """The canonical JSON text of ``payload`` (see the module docstring for the rules)."""
    return json.dumps(_normalise(payload, "$"), sort_keys=True, separators=(",", ":"))


def fingerprint(payload: Any) -> str:
    """SHA-256 of the canonical payload: what a reused key is compared on."""
    return hashlib.sha256(canonical_payload(payload).encode()).hexdigest()


def upsert_key(namespace: str, payload: Any, *, workflow: str = DEFAULT_WORKFLOW) -> str:
    """The key of ``payload`` in ``namespace`` for ``workflow`` (bounded, stable, readable)."""
    _check_name(namespace, "namespace")
    _check_name(workflow, "workflow")
    return f"{workflow}:{namespace}:{fingerprint(payload)[:40]}"


def check_key(key: str) -> str:
    """Refuse an empty or over-long caller-supplied key (a key is a database index entry)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyConfigError(
            f"idempotency key {key[:80]!r} has {len(key)} characters; a key must have 1 to "
            f"{MAX_KEY_LENGTH}. Derive one with upsert_key(namespace, payload), which hashes "
            "the payload to a fixed length."
        )
    return key


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise IdempotencyConfigError(
            f"{what} {value!r} is invalid: use 1-64 characters of letters, digits, '_', '.', "
            f"'-', starting with a letter or digit (a {what} is part of every key)."
        )


def _normalise(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | decimal.Decimal):
        return _number(value, path)
    if isinstance(value, Mapping):
        return {_mapping_key(k, path): _normalise(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise IdempotencyConfigError(
        f"payload value at {path} is a {type(value).__name__} ({value!r:.60}); a payload holds "
        "only str, int, float, Decimal, bool, None, lists and string-keyed mappings, so that "
        "the same request always gives the same key. Convert it first (e.g. str() or a dict)."
    )


def _number(value: float | decimal.Decimal, path: str) -> int | float:
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            _not_finite(value, path)
        if value == value.to_integral_value():
            return int(value)
        return float(value) if decimal.Decimal(repr(float(value))) == value else _exact(value)
    if not math.isfinite(value):
        _not_finite(value, path)
    return int(value) if value.is_integer() else value


def _exact(value: decimal.Decimal) -> Any:
    # more digits than a float holds: keep them all, as a tagged string
    return {"$decimal": format(value.normalize(), "f")}


def _not_finite(value: object, path: str) -> None:
    raise IdempotencyConfigError(
        f"payload value at {path} is {value!r}; NaN and infinities are refused in an "
        "idempotency payload because they compare unequal to themselves. Send a string."
    )


def _mapping_key(key: Any, path: str) -> str:
    if not isinstance(key, str):
        raise IdempotencyConfigError(
            f"payload mapping at {path} has the non-string key {key!r}; use string keys so "
            "that the canonical JSON (sorted keys) is well defined."
        )
    return key
