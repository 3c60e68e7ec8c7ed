"""A small JSON-path dialect for ignore paths and secret reports (ladder level 0).

``$.messages[*].tool_calls[*].id``: ``.key`` steps into an object, ``[N]`` into a list item,
``[*]`` and ``.*`` into every item. The leading ``$`` is optional.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_opsladder.http.errors import HttpConfigError

JsonPath = tuple[str | int, ...]
WILD = "*"
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\*|\d+)\]")


def parse_path(text: str) -> JsonPath:
    """Parse ``text``; a malformed path is an :class:`HttpConfigError` that shows it."""
    body = text.strip()
    body = body[1:] if body.startswith("$") else body
    body = body if body.startswith((".", "[")) else f".{body}"
    steps: list[str | int] = []
    pos = 0
    for match in _TOKEN.finditer(body):
        if match.start() != pos:
            break
        key, index = match.groups()
        steps.append(key if key is not None else (WILD if index == WILD else int(index)))
        pos = match.end()
    if pos != len(body) or not steps:
        raise HttpConfigError(
            f"{text!r} is not a JSON path the HTTP matcher understands (in opsladder_config "
            "'match_ignore'). Write it like '$.messages[*].tool_calls[*].id' or 'metadata.run'."
        )
    return tuple(steps)


def remove_path(data: Any, path: JsonPath) -> Any:
    """A copy of ``data`` without what ``path`` points at (unchanged when absent)."""
    if not path:
        return data
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and isinstance(head, str):
        if head == WILD:
            return {k: remove_path(v, rest) if rest else v for k, v in data.items() if rest}
        if head not in data:
            return data
        out = dict(data)
        if rest:
            out[head] = remove_path(out[head], rest)
        else:
            del out[head]
        return out
    if isinstance(data, list) and (head == WILD or isinstance(head, int)):
        return _remove_in_list(data, head, rest)
    return data


def _remove_in_list(data: list[Any], head: str | int, rest: JsonPath) -> list[Any]:
    if not rest:  # removing list items by path would shift the others: keep the list as is
        return data
    if head == WILD:
        return [remove_path(v, rest) for v in data]
    assert isinstance(head, int)
    if head >= len(data):
        return data
    out = list(data)
    out[head] = remove_path(out[head], rest)
    return out


def format_path(steps: list[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``$.a[0].b``."""
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
