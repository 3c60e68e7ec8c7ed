"""How a nightmare check is named in results, terminal lines and reports (ladder level 7).

As the case file wrote it, in YAML's flow style: ``contains: refund`` for the scalar shorthand,
``contains: {path: tags, value: databases}`` for a mapping, keys in the file's order, strings
quoted only where YAML would read them as something else. A long label ends in ``…`` at
:data:`LABEL_WIDTH` characters, and is built no further than that (a large ``json_schema`` costs
no more than a small one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

LABEL_WIDTH = 100
_PLAIN = re.compile(r"[A-Za-z_./@$][A-Za-z0-9_ ./@$+-]*")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "~"})


class _Full(Exception):
    """The label reached its width: stop building it."""


class _Label:
    def __init__(self, width: int) -> None:
        self.width = width
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > self.width:
            raise _Full

    def text(self) -> str:
        joined = "".join(self.parts)
        return joined if len(joined) <= self.width else joined[: self.width - 1] + "…"


def check_label(kind: str, args: Any, width: int = LABEL_WIDTH) -> str:
    """``kind: args`` as the case file wrote them, at most ``width`` characters."""
    label = _Label(width)
    try:
        label.add(f"{kind}: ")
        if isinstance(args, Mapping) and list(args) == ["value"]:  # `contains: refund`
            _flow(args["value"], label)
        else:
            _flow(args, label)
    except _Full:
        pass
    return label.text()


def _flow(value: Any, label: _Label) -> None:
    if isinstance(value, Mapping):
        _items(((str(k), v) for k, v in value.items()), "{", "}", label)  # lazily: the label
    elif isinstance(value, list | tuple):  # stops at its width, however long the value
        _items(((None, v) for v in value), "[", "]", label)
    else:
        label.add(_scalar(value))


def _items(items: Iterable[tuple[str | None, Any]], start: str, end: str, label: _Label) -> None:
    label.add(start)
    for n, (key, item) in enumerate(items):
        label.add(", " if n else "")
        if key is not None:
            label.add(f"{_scalar(key)}: ")
        _flow(item, label)
    label.add(end)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value if _plain(value) else json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def _plain(text: str) -> bool:
    """A string YAML reads back as that string, unquoted, inside a flow collection."""
    return (
        _PLAIN.fullmatch(text) is not None
        and not text.endswith(" ")
        and text.lower() not in _YAML_WORDS
    )
