"""JSON read fast where it can be (used by every rung that parses recorded data).

orjson reads JSON several times faster than json, but refuses some of what json writes and
reads: NaN and Infinity (a missing or unbounded metric), integers past 64 bits, nesting deeper
than 1,024. :func:`loads` reads those with json; json's own errors (``ValueError``,
``RecursionError``) reach the caller.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    """The JSON value of ``text``: orjson first, json for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
