"""Turning tool arguments and results into JSON that a cassette can hold (ladder level 0).

The documented fallback: str, int, float, bool, None, lists, tuples and dicts with string keys
are kept as they are; dataclasses, pydantic models (``model_dump``), enums, paths, datetimes,
dates, UUIDs, decimals, sets, bytes and numpy scalars and arrays are converted; anything else is a
:class:`ToolArgumentError` naming the tool and the argument path, unless an encoder was
registered for its type with :func:`register_encoder`. Replay returns the JSON form.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import uuid
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

from pytest_opsladder.exceptions import ToolArgumentError

_PRIMITIVES = (str, int, bool, type(None))
_ENCODERS: dict[type, Callable[[Any], Any]] = {}


def register_encoder(kind: type, encoder: Callable[[Any], Any]) -> None:
    """Teach capture how to store values of ``kind`` (the encoder returns JSON-able data)."""
    _ENCODERS[kind] = encoder


def to_jsonable(value: Any, *, tool: str = "?", path: str = "$") -> Any:
    """Return ``value`` as JSON-compatible data, or raise naming ``tool`` and ``path``.

    Plain JSON data (the common case: every tool call goes through here) is copied by a fast
    path that builds no argument paths; anything else takes the full walk, which names them.
    """
    try:
        return _plain_copy(value)
    except _NotPlain:
        return _to_jsonable(value, tool=tool, path=path)


def storable(value: Any, place: str) -> Any:
    """A run's own value (its ``output``, its case's ``input``) as a cassette stores it: the
    conversions tool arguments get (a datetime as ISO text, a NaN as ``{"__float__": "nan"}``),
    else a :class:`ToolArgumentError` naming ``place``."""
    return to_jsonable(value, tool=place, path=f"$.{place}")


class _NotPlain(Exception):
    """Raised by the fast path on the first value that is not plain JSON."""


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _plain_copy(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out[key] = _plain_copy(item)
        return out
    if kind is list or kind is tuple:
        return [_plain_copy(item) for item in value]
    if kind is float and math.isfinite(value):
        return value
    raise _NotPlain


def _to_jsonable(value: Any, *, tool: str, path: str) -> Any:
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, Mapping):
        return _mapping(value, tool, path)
    if isinstance(value, list | tuple):
        return [to_jsonable(v, tool=tool, path=f"{path}[{i}]") for i, v in enumerate(value)]
    return _convert_other(value, tool, path)


def _mapping(value: Mapping[Any, Any], tool: str, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            key = _key_to_str(key, tool, path)
        out[key] = to_jsonable(item, tool=tool, path=f"{path}.{key}")
    return out


def _key_to_str(key: Any, tool: str, path: str) -> str:
    if isinstance(key, int | float | bool | enum.Enum):
        return str(key.value if isinstance(key, enum.Enum) else key)
    raise ToolArgumentError(
        f"tool {tool!r}: the mapping at {path} has a key {key!r} of type "
        f"{type(key).__name__}; cassettes store JSON, whose keys are strings. "
        "Use string keys, or register an encoder with pytest_opsladder.register_encoder().",
        tool=tool,
        path=path,
    )


def _convert_other(value: Any, tool: str, path: str) -> Any:
    for kind, encoder in _ENCODERS.items():
        if isinstance(value, kind):
            return to_jsonable(encoder(value), tool=tool, path=path)
    converted = _builtin_conversion(value)
    if converted is not _NO:
        return to_jsonable(converted, tool=tool, path=path)
    raise ToolArgumentError(
        f"tool {tool!r}: the value at {path} is a {type(value).__module__}."
        f"{type(value).__qualname__} ({_short_repr(value)}), which a cassette cannot store. "
        "Pass JSON-compatible data (or a dataclass / pydantic model), or register an encoder "
        "with pytest_opsladder.register_encoder(type, fn).",
        tool=tool,
        path=path,
    )


_NO = object()


def _builtin_conversion(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, PurePath | uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, bytes | bytearray):
        return {"__bytes_b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if type(value).__module__ == "numpy" and callable(getattr(value, "tolist", None)):
        return value.tolist()  # a numpy scalar or array: its Python numbers, nested lists
    return _NO


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# One encoder for every call: json.dumps with options builds a new JSONEncoder each time, which
# costs more than encoding a tool call's small arguments (replay matches on every call).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the form used for matching and hashing."""
    return _CANONICAL.encode(value)
