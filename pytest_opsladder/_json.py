"""JSON read fast where it can be (used by every rung that parses recorded data).

orjson reads JSON several times faster than json, but refuses some of what json writes and
reads: NaN and Infinity (a missing or unbounded metric), nesting deeper than 1,024. And it
reads an integer past 64 bits as a float, silently: ``100000000000000000000`` becomes
``1e+20``, and ``123456789012345678901`` and ``123456789012345678902`` become the same number.

- :func:`loads` reads with json what orjson refuses; its integers past 64 bits are rounded.
  It is for values that are only read (the run index, an LLM call's usage, the strings a
  secret scan looks at).
- :func:`loads_exact` reads every integer exactly: for values that are compared (a request's
  replay key) or written back (a redacted body, a cassette's structured body).

Both raise ``ValueError`` for a text that is not JSON or is nested too deep to read.
:func:`too_deep` says when a value read is nested too deep for the walks that read bodies.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONGEST_EXACT = b"0" * 19  # orjson keeps every integer of 18 digits or fewer exactly


def loads(text: str | bytes) -> Any:
    """The JSON value of ``text``: orjson first, json for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _json_loads(text)


def loads_exact(text: str | bytes) -> Any:
    """The JSON value of ``text`` with every integer exact: json for a text holding a run of
    19 digits or more (one pass of the bytes in C, about 1 us per KB), else :func:`loads`."""
    return _json_loads(text) if may_round(text) else loads(text)


def _json_loads(text: str | bytes) -> Any:
    """json's reading, its stack exhausted by deep nesting said as the ``ValueError`` every
    caller handles (past orjson's 1,024 levels json always exhausts it)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep to read") from None


def may_round(text: str | bytes) -> bool:
    """Whether :func:`loads` could round a number of ``text``: it holds 19 digits in a row."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _LONGEST_EXACT in raw.translate(_DIGITS_AS_ZERO)


MAX_DEPTH = 254  # the deepest value orjson writes (its limit): past it, a body is read as text
_OPENERS = ("[", "{")
_OPENERS_BYTES = (b"[", b"{")


def too_deep(value: Any, text: str | bytes) -> bool:
    """Whether ``value``, read from ``text``, nests deeper than :data:`MAX_DEPTH`. The walks
    that read a body (the secret scan, the replay key, the cassette's layout) recurse once or
    twice per level, so a body nested 400 deep (which orjson reads) exhausted Python's stack
    inside the agent's HTTP call; past this depth they read it as text, which is decided by
    the body alone, not by how deep the caller's stack is. A text with fewer brackets than
    the limit is not checked further (one C count); one with more is written by orjson, which
    stops at this depth."""
    if isinstance(text, bytes):
        opened = text.count(_OPENERS_BYTES[0]) + text.count(_OPENERS_BYTES[1])
    else:
        opened = text.count(_OPENERS[0]) + text.count(_OPENERS[1])
    if opened <= MAX_DEPTH:
        return False
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        if "Recursion" in str(exc):
            return True
        return _depth(value) > MAX_DEPTH  # an integer past 64 bits stopped it first
    return False


def _depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar 0, ``[]`` 1), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
