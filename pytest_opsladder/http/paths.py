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


Trie = dict[str | int, "Trie | None"]  # None marks a path's end: remove this key


def build_trie(paths: list[JsonPath]) -> Trie:
    """Merge paths into one trie, so a body is walked once for all of them."""
    root: Trie = {}
    for path in paths:
        node = root
        for step in path[:-1]:
            child = node.get(step)
            if child is None:
                child = node[step] = {}
            node = child
        node[path[-1]] = None
    return root


def prune(data: Any, trie: Trie) -> Any:
    """``data`` without every path of ``trie``; untouched parts are shared, not copied (a
    container is copied only when something under it is removed)."""
    if isinstance(data, dict):
        return _prune_dict(data, trie)
    if isinstance(data, list):
        return _prune_list(data, trie)
    return data


def _prune_dict(data: dict[str, Any], trie: Trie) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for key, sub in trie.items():
        if key == WILD:
            keys: list[Any] | tuple[Any, ...] = list(data)
        elif key in data:
            keys = (key,)
        else:
            continue
        for k in keys:
            if sub is None:
                out = out if out is not None else dict(data)
                out.pop(k, None)
                continue
            current = (data if out is None else out)[k]
            pruned = prune(current, sub)
            if pruned is not current:
                out = out if out is not None else dict(data)
                out[k] = pruned
    return data if out is None else out


def _prune_list(data: list[Any], trie: Trie) -> list[Any]:
    out: list[Any] | None = None
    for key, sub in trie.items():
        if sub is None or (isinstance(key, str) and key != WILD):
            continue  # whole list items are never removed: the others would shift
        indexes = range(len(data)) if key == WILD else [key] if int(key) < len(data) else []
        for i in indexes:
            current = (data if out is None else out)[int(i)]
            pruned = prune(current, sub)
            if pruned is not current:
                out = out if out is not None else list(data)
                out[int(i)] = pruned
    return data if out is None else out


def format_path(steps: list[str | int]) -> str:
    """``["a", 0, "b"]`` -> ``$.a[0].b``."""
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
