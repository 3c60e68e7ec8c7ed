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
        return parse(text)


def loads_exact(text: str | bytes) -> Any:
    """The JSON value of ``text`` with every integer exact: json for a text holding a run of
    19 digits or more (one pass of the bytes in C, about 1 us per KB), else :func:`loads`."""
    return parse(text) if may_round(text) else loads(text)


def may_round(text: str | bytes) -> bool:
    """Whether :func:`loads` could round a number of ``text``: it holds 19 digits in a row."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _LONGEST_EXACT in raw.translate(_DIGITS_AS_ZERO)


def parse(text: str | bytes, **options: Any) -> Any:
    """``json.loads(text, **options)``, with JSON nested past Python's stack (json's
    ``RecursionError``) raised as the ``json.JSONDecodeError`` every reader already handles:
    the readers of files a user or a model wrote (a results file, a shard, a policy, a tool's
    arguments) turn it into their named error. Past orjson's 1,024 levels json always runs
    out of stack, so :func:`loads` gives it there too."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        doc = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise json.JSONDecodeError("nested too deep to read", doc, 0) from None
