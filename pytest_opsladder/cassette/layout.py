"""A cassette layout that diffs well in git (ladder level 0, run capture).

A no-op re-record should change only what is volatile: ids, timestamps, latencies, the port of
a loopback server. So a cassette is written one value per line, keys sorted, indented, and the
JSON bodies of HTTP requests and responses are stored as structured JSON (``{"json": ...,
"json_format": "compact"}``) instead of one escaped string of up to several KB on one line.

A body is stored structured only when it comes back byte for byte: the serialisation style it
was sent in (compact, spaced, indented, ASCII-escaped or not) is detected, kept in
``json_format``, checked on write, and used on load; a body in any other style (duplicate keys,
``1.50``, odd spacing) stays text. Key order inside a body is the sender's, not sorted. Short
flat lists and objects (a header's values, a list of tags) stay on one line.

Loading turns structured bodies back into ``{"text": ...}`` (:func:`accept_bodies`), so every
reader downstream sees one form, and cassettes written before this layout load unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_opsladder._json import loads_exact
from pytest_opsladder.cassette.schema import MAX_DEPTH

BODY_FORMATS: dict[str, dict[str, Any]] = {
    "compact": {"separators": (",", ":"), "ensure_ascii": False},
    "compact_ascii": {"separators": (",", ":"), "ensure_ascii": True},
    "spaced": {"separators": (", ", ": "), "ensure_ascii": False},
    "spaced_ascii": {"separators": (", ", ": "), "ensure_ascii": True},
    "indent2": {"indent": 2, "ensure_ascii": False},
    "indent2_ascii": {"indent": 2, "ensure_ascii": True},
}
INLINE_MAX_CHARS = 64  # a flat list/object this short stays on one line
INLINE_MAX_ITEMS = 8
_SCALAR = json.JSONEncoder(ensure_ascii=False)


class _Ordered:
    """A body's parsed JSON: written in the sender's key order, never sorted."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# -- bodies ---------------------------------------------------------------------------------
def structured_body(body: Any) -> Any:
    """``{"text": <JSON>}`` as ``{"json": value, "json_format": name}`` when the text comes
    back byte for byte in a known style; any other body unchanged."""
    if not isinstance(body, dict) or set(body) != {"text"}:
        return body
    text = body["text"]
    if not isinstance(text, str) or text[:1] not in ("{", "["):
        return body
    try:
        value = loads_exact(text)  # and checked below, written back with json
    except ValueError:  # not JSON, or nested too deep to read
        return body
    try:
        for name in _candidate_formats(text):
            if json.dumps(value, **BODY_FORMATS[name]) == text:
                return {"json": _Ordered(value), "json_format": name}
    except RecursionError:  # nested past the stack (the writer refuses past 64 levels anyway)
        pass
    return body


def _candidate_formats(text: str) -> list[str]:
    ascii_only = text.isascii()  # else only the non-ASCII styles can give it back
    # a raw newline is never inside a JSON string: only indented JSON has one
    if "\n" in text:
        names = ["indent2_ascii", "indent2"]
    else:
        names = ["compact_ascii", "compact", "spaced_ascii", "spaced"]
    return names if ascii_only else [n for n in names if not n.endswith("_ascii")]


def text_body(body: Any) -> Any:
    """The ``{"text": ...}`` form of a stored body (structured or not)."""
    if not isinstance(body, dict) or "json" not in body:
        return body
    style = BODY_FORMATS.get(str(body.get("json_format")), BODY_FORMATS["compact"])
    value = body["json"]
    return {"text": json.dumps(value.value if isinstance(value, _Ordered) else value, **style)}


def _map_bodies(run: dict[str, Any], convert: Any) -> dict[str, Any]:
    http = run.get("http")
    if not isinstance(http, list) or not http:
        return run
    out = []
    for item in http:
        if isinstance(item, dict):
            item = {**item}
            for side in ("request", "response"):
                part = item.get(side)
                if isinstance(part, dict) and "body" in part:
                    item[side] = {**part, "body": convert(part["body"])}
        out.append(item)
    return {**run, "http": out}


def structure_bodies(run: dict[str, Any]) -> dict[str, Any]:
    """A copy of a run dict whose JSON bodies are structured (the run itself is untouched)."""
    return _map_bodies(run, structured_body)


def accept_bodies(envelope: dict[str, Any]) -> dict[str, Any]:
    """The loader's hook: structured bodies back to text, in place; old cassettes untouched."""
    run = envelope.get("run")
    if isinstance(run, dict) and _has_structured(run):
        envelope["run"] = _map_bodies(run, text_body)
    return envelope


def _has_structured(run: dict[str, Any]) -> bool:
    for item in run.get("http") or []:
        for side in ("request", "response"):
            body = ((item or {}).get(side) or {}).get("body") if isinstance(item, dict) else None
            if isinstance(body, dict) and "json" in body:
                return True
    return False


# -- the writer -----------------------------------------------------------------------------
# A run's request bodies repeat most of themselves: each turn resends the conversation so far
# and the same tool schemas. The text of a container inside a body (keys in sender order, so
# its compact JSON says all of it) is kept by that JSON and its indent, and written once.
_BODY_TEXT: dict[tuple[int, str], str] = {}
_BODY_TEXT_MAX = 4096  # entries, and characters of text kept below; cleared when either is full
_BODY_TEXT_CHARS = 8_000_000
_BODY_TEXT_SIZE = [0]
_encode_str = json.encoder.encode_basestring  # the C encoder of a str, as _SCALAR writes one


def _one_shot(sort: bool, separators: tuple[str, str]) -> Callable[[Any], str]:
    """``JSONEncoder(sort_keys=sort, separators=..., ensure_ascii=False).encode`` without the C
    encoder object it makes on every call (its markers too: a run holds no cycles); that
    method itself where the C accelerator is missing or does not give the same text."""
    python = json.JSONEncoder(sort_keys=sort, ensure_ascii=False, separators=separators)
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    try:
        c = make(None, python.default, _encode_str, None, separators[1], separators[0], sort,
                 False, True)  # fmt: skip

        def encode(value: Any) -> str:
            return "".join(c(value, 0))

        probe = {"b": [1, 2.5, None, True, "\u00e9\n"], "a": {"x": float("nan")}}
        if encode(probe) == python.encode(probe):
            return encode
    except Exception:  # no C accelerator, or another signature: the method
        pass
    return python.encode


_SORTED_TEXT = _one_shot(True, (", ", ": "))
_ORDERED_TEXT = _one_shot(False, (", ", ": "))
_COMPACT = _one_shot(False, (",", ":"))


def _scalar(value: Any) -> str:
    """A scalar as _SCALAR writes it, the usual types without its encode method."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return _SCALAR.encode(value)


class NestedTooDeep(Exception):
    """A value would nest deeper than the cassette schema lets a file nest (its loader would
    refuse the file): nothing is written."""


class BodyTooDeep(NestedTooDeep):
    """A structured body would nest too deep: the caller writes the run's bodies as text."""


# A container's indent is its depth from the envelope; the schema reads containers down to
# MAX_DEPTH - 1 (a cassette its own loader refused would lose the recording).
_MAX_INDENT = MAX_DEPTH - 1


def dumps_json(envelope: dict[str, Any]) -> str:
    """The envelope one value per line (sorted keys, one-space indent), bodies structured.
    Raises :class:`BodyTooDeep` for a structured body nested past the schema's depth, and
    :class:`NestedTooDeep` for any other value."""
    out: list[str] = []
    _write(envelope, "", out, True)
    out.append("\n")
    return "".join(out)


def _write(value: Any, indent: str, out: list[str], sort: bool) -> None:
    if isinstance(value, _Ordered):
        _write(value.value, indent, out, False)
    elif isinstance(value, dict):
        _write_dict(value, indent, out, sort)
    elif isinstance(value, list | tuple):
        _write_list(value, indent, out, sort)
    else:
        out.append(_scalar(value))


def _write_dict(value: dict[Any, Any], indent: str, out: list[str], sort: bool) -> None:
    if len(indent) > _MAX_INDENT:
        raise (NestedTooDeep if sort else BodyTooDeep)()  # unsorted: a body's value
    if _inline(value, value.values()):
        out.append((_SORTED_TEXT if sort else _ORDERED_TEXT)(value))
        return
    inner = indent + " "
    sep = "{\n"
    for key in sorted(value) if sort else value:
        item = value[key]
        name = _encode_str(key) if type(key) is str else _scalar(str(key))
        if item is None or isinstance(item, str | int | float):  # most values: no recursion
            out.append(f"{sep}{inner}{name}: {_scalar(item)}")
        else:
            out.append(f"{sep}{inner}{name}: ")
            _write_item(item, inner, out, sort)
        sep = ",\n"
    out.append(f"\n{indent}}}")


def _write_list(
    value: list[Any] | tuple[Any, ...], indent: str, out: list[str], sort: bool
) -> None:
    if len(indent) > _MAX_INDENT:
        raise (NestedTooDeep if sort else BodyTooDeep)()  # unsorted: a body's value
    if _inline(value, value):
        out.append((_SORTED_TEXT if sort else _ORDERED_TEXT)(value))
        return
    inner = indent + " "
    sep = "[\n"
    for item in value:
        out.append(sep + inner)
        _write_item(item, inner, out, sort)
        sep = ",\n"
    out.append(f"\n{indent}]")


def _write_item(item: Any, indent: str, out: list[str], sort: bool) -> None:
    """A container's item; inside a body (``sort`` false: values parsed from JSON text), a
    container's text comes from the memo when an earlier request of the run wrote it."""
    if sort or not isinstance(item, dict | list):
        _write(item, indent, out, sort)
        return
    key = (len(indent), _COMPACT(item))
    text = _BODY_TEXT.get(key)
    if text is None:
        start = len(out)
        _write(item, indent, out, sort)
        text = "".join(out[start:])
        del out[start:]
        if len(_BODY_TEXT) >= _BODY_TEXT_MAX or _BODY_TEXT_SIZE[0] > _BODY_TEXT_CHARS:
            _BODY_TEXT.clear()
            _BODY_TEXT_SIZE[0] = 0
        _BODY_TEXT[key] = text
        _BODY_TEXT_SIZE[0] += len(text) + len(key[1])
    out.append(text)


def _inline(container: Any, items: Any) -> bool:
    """Empty, or short and flat: one line says it as clearly as several."""
    if not container:
        return True
    if len(container) > INLINE_MAX_ITEMS:
        return False
    for item in items:
        if isinstance(item, dict | list | tuple | _Ordered):
            return False
        if isinstance(item, str) and len(item) > INLINE_MAX_CHARS:
            return False
    return len(_SORTED_TEXT(container)) <= INLINE_MAX_CHARS


def first_too_deep(value: Any) -> str:
    """The JSON path of the first container ``value`` holds past the schema's depth (found
    without recursion), shortened to its start and end."""
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, where, depth = stack.pop()
        if not isinstance(item, dict | list | tuple):
            continue
        if depth > _MAX_INDENT:
            return where if len(where) <= 120 else f"{where[:60]}...{where[-50:]}"
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in reversed(list(pairs)):
            step = f"[{key}]" if isinstance(key, int) else f".{key}"
            stack.append((child, where + step, depth + 1))
    return "$"
