"""A fast path for the plain block YAML that case files are written in (ladder level 7).

Collecting a nightmare set parses every case file on every pytest run, and libyaml's composer
(a Python node, two marks and a resolver call per scalar) cost most of a large set's collection.
Case files are small block documents: mappings, sequences (indentless too), one-line flow
collections, quoted and plain scalars, ``|``/``|-`` literal blocks, comments. :func:`parse`
reads exactly that subset, line by line, and builds what PyYAML's safe loader would.

It is a fast path, never a second dialect: anything it is not sure of (tabs, anchors, aliases,
tags, directives, document markers, folded or double-quoted multi-line scalars, keys other than
plain strings, escapes other than ``\\\\ \\" \\n \\t \\r``, a line it does not expect...) makes
it give up, and the caller parses the text with PyYAML, which builds the value or raises its
error with the line. In particular it never accepts a document that PyYAML refuses. Plain
scalars are typed by the loader's own resolver and constructors (``yes``, ``1_000``,
``2026-11-02``, ``~`` ...), so types match too. tests/nightmare/test_yaml_subset.py checks it
against PyYAML, on hand-picked and on randomly mutated documents.
"""

from __future__ import annotations

import json
import re
from typing import Any

from yaml.nodes import ScalarNode

__all__ = ["NotSimple", "parse"]


class NotSimple(Exception):
    """The text is outside the subset: parse it with PyYAML."""


# Characters outside these sets are either refused by libyaml or are line breaks to it (NEL,
# LS, PS) or a byte-order mark: such texts go to PyYAML. So do tabs and carriage returns.
_OUTSIDE = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# Document markers and directives (at column 0) end or start documents: not handled here.
_MARKERS = re.compile(r"^(?:---|\.\.\.)(?: |$)|^%", re.MULTILINE)
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
_NOT_PLAIN = frozenset("#[{'\"|")  # the starts value() handles; other starts are plain scalars
_FLOW_STOP = re.compile(r"[,\[\]{}:#]")
_FLOW_DELIMITERS = re.compile(r" *([\[\]{},]|: ) *")
_QUOTED = tuple((d, f'"{d}"') for d in "[]{},:")
_JSON = json.JSONDecoder()
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
_SINGLE_BODY = re.compile(r"(?:[^']|'')*")
_SINGLE_END = re.compile(r"((?:[^']|'')*)'")
_MAX_KEY = 1000  # libyaml refuses simple keys longer than 1024 characters
_STR = "tag:yaml.org,2002:str"
_TYPED = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null", "timestamp"))


def parse(text: str, loader: Any) -> Any:
    """The value of ``text``, as ``loader`` (a PyYAML safe loader instance, used for typing
    plain scalars) would build it; raises :class:`NotSimple` when the text is outside the
    subset."""
    if text.isascii():
        if not text.replace("\n", " ").isprintable():  # ASCII control characters, tabs
            raise NotSimple
    elif _OUTSIDE.search(text):
        raise NotSimple
    if (
        "\n---" in text or "\n..." in text or "\n%" in text or text.startswith(("---", "...", "%"))
    ) and _MARKERS.search(text):
        raise NotSimple
    resolvers = loader.yaml_implicit_resolvers
    if loader.yaml_path_resolvers or None in resolvers:
        raise NotSimple
    tags = _MEMO.get(type(loader))
    if tags is None:
        tags = _MEMO[type(loader)] = {}
    try:
        return _Parser(text, loader, tags).document()
    except (IndexError, RecursionError):
        raise NotSimple from None


# The tags a loader class's resolver gave plain scalars, by text (most keys and many values of
# a set repeat from file to file), with the resolver list it consulted and that list's length
# then: an entry holds while that list is the one in use and unchanged (a resolver a user adds
# later makes it look again). At most _MEMO_SIZE texts a class.
_MEMO_SIZE = 20_000
_MEMO: dict[type, dict[str, tuple[str, list[Any], int]]] = {}
_FLOW_JSON: dict[str, str] = {}  # flow collection text -> its JSON text (see _flow_json)


class _Parser:
    __slots__ = ("first", "lines", "loader", "pos", "tags")

    def __init__(self, text: str, loader: Any, tags: dict[str, tuple[str, list[Any], int]]) -> None:
        self.lines = text.split("\n")
        self.pos = 0
        self.loader = loader
        self.first = loader.yaml_implicit_resolvers  # by the first character they look at
        self.tags = tags

    # -- lines --------------------------------------------------------------------------------

    def peek(self) -> tuple[int, str] | None:
        """(indent, content) of the next line that is not blank or a comment; None at the end."""
        lines = self.lines
        pos = self.pos
        while pos < len(lines):
            line = lines[pos]
            content = line.lstrip(" ")
            if content and content[0] != "#":
                self.pos = pos
                return len(line) - len(content), content.rstrip(" ")
            pos += 1
        self.pos = pos
        return None

    def at_indent(self, indent: int) -> str | None:
        """The content of the next line of the collection at ``indent`` (``self.pos`` on it);
        None where the collection ends (a line indented less, or the end). A line indented
        more, where a new entry should start, is outside the subset."""
        line = self.peek()
        if line is None or line[0] < indent:
            return None
        if line[0] > indent:
            raise NotSimple
        return line[1]

    def document(self) -> Any:
        first = self.peek()
        if first is None:
            raise NotSimple  # empty document: PyYAML says what it is
        value = self.block(first[0], first[1])
        if self.peek() is not None:
            raise NotSimple
        return value

    def block(self, indent: int, content: str) -> Any:
        """The block collection starting at the current line (at ``indent``)."""
        if content == "-" or content.startswith("- "):
            return self.sequence(indent)
        return self.mapping(indent)

    # -- collections --------------------------------------------------------------------------

    def mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        lines = self.lines
        first = self.first
        while (line := self.at_indent(indent)) is not None:
            pos, content = self.pos, line
            colon = content.find(":")  # a key holds no colon; "- item" fails the key check
            if colon <= 0 or colon > _MAX_KEY:
                raise NotSimple
            rest = content[colon + 1 :]
            if rest:
                if rest[0] != " ":
                    raise NotSimple
                rest = rest.lstrip(" ")
            key = content[:colon].rstrip(" ")
            if key[0] in _INDICATORS or " #" in key or (key[0] in first and self.tag(key) != _STR):
                raise NotSimple
            pos += 1
            self.pos = pos
            if rest and rest[0] not in _NOT_PLAIN:
                if (  # most values: a plain scalar on one line, typed, no comment
                    rest[0] not in _INDICATORS
                    and " #" not in rest
                    and ": " not in rest
                    and rest[-1] != ":"
                    and (pos == len(lines) or not lines[pos].startswith(" ", indent))
                ):
                    out[key] = rest if rest[0] not in first else self.scalar(rest)
                    continue
                out[key] = self.plain(rest, indent)
            else:
                out[key] = self.value(rest, indent, after_key=True)
        return out

    def sequence(self, indent: int) -> list[Any]:
        out: list[Any] = []
        lines = self.lines
        while (line := self.at_indent(indent)) is not None:
            pos, content, at = self.pos, line, indent
            if content[0] != "-" or (len(content) > 1 and content[1] != " "):
                break  # the next key of the mapping holding this indentless sequence
            rest = content[1:].strip(" ")
            if rest and rest[0] != "#" and (rest == "-" or rest.startswith("- ") or _is_key(rest)):
                # "- key: value" or "- - item": a collection starting on the item's line
                column = at + len(content) - len(content[1:].lstrip(" "))
                lines[pos] = " " * column + rest
                self.pos = pos
                out.append(self.block(column, rest))
            else:
                self.pos = pos + 1
                out.append(self.value(rest, indent, after_key=False))
        return out

    def value(self, rest: str, indent: int, *, after_key: bool) -> Any:
        """The value after ``key:`` or ``-`` (``rest`` is the rest of that line)."""
        if not rest or rest[0] == "#":
            line = self.peek()
            if line is not None:
                at, content = line
                if at > indent:
                    return self.block(at, content)
                if after_key and at == indent and (content == "-" or content.startswith("- ")):
                    return self.sequence(indent)  # an indentless sequence
            return self.scalar("")
        first = rest[0]
        if first == "[" or first == "{":
            if "'" in rest or '"' in rest or "#" in rest:
                value, end = self.flow(rest, 0)
                _end_of_line(rest, end)
                return value
            return self.flow_line(rest)
        if first == "'" and _SINGLE_BODY.fullmatch(rest, 1):  # not closed on this line
            return self.single_quoted_lines(rest, indent)
        if first == '"' or first == "'":
            value, end = _quoted(rest, 0)
            _end_of_line(rest, end)
            return value
        if first == "|":
            return self.literal(rest, indent)
        return self.plain(rest, indent)

    # -- scalars ------------------------------------------------------------------------------

    def tag(self, value: str) -> str:
        """The tag the loader's resolver gives a plain scalar."""
        head = value[:1]
        resolvers = self.first.get(head)
        if resolvers is None:
            return _STR
        entry = self.tags.get(value)
        if entry is not None and entry[1] is resolvers and entry[2] == len(resolvers):
            return entry[0]
        tag: str = self.loader.resolve(ScalarNode, value, (True, False))
        if len(self.tags) < _MEMO_SIZE:
            self.tags[value] = (tag, resolvers, len(resolvers))
        return tag

    def scalar(self, value: str) -> Any:
        """A plain scalar, typed as the loader's resolver and constructors type it."""
        tag = self.tag(value)
        if tag == _STR:
            return value
        constructor = self.loader.yaml_constructors.get(tag) if tag in _TYPED else None
        if constructor is None:
            raise NotSimple  # merge and value keys, resolvers added by a user
        try:  # the safe constructors of these tags read node.value only
            return constructor(self.loader, ScalarNode(tag, value))
        except Exception:  # e.g. 2026-02-30: let PyYAML raise it, as it always did
            raise NotSimple from None

    def plain(self, rest: str, indent: int) -> Any:
        """A plain scalar in block context, maybe continued on more indented lines."""
        first = rest[0]
        if first in _INDICATORS and not (first == "-" and rest[1:2].isalnum()):
            raise NotSimple
        comment = rest.find(" #")
        text = rest[:comment].rstrip(" ") if comment >= 0 else rest
        if ": " in text or text[-1] == ":":
            raise NotSimple
        lines = self.lines
        pos = self.pos
        if pos < len(lines) and lines[pos][: indent + 1] == " " * (indent + 1):
            parts = [text]
            while pos < len(lines):
                line = lines[pos]
                content = line.lstrip(" ")
                if not content or content[0] == "#" or len(line) - len(content) <= indent:
                    break
                if comment >= 0 or content[0] in _INDICATORS:
                    raise NotSimple
                content = content.rstrip(" ")
                comment = content.find(" #")
                if comment >= 0:
                    content = content[:comment].rstrip(" ")
                if ": " in content or content[-1] == ":":
                    raise NotSimple
                parts.append(content)
                pos += 1
            self.pos = pos
            text = " ".join(parts)
        return text if text[0] not in self.first else self.scalar(text)

    def single_quoted_lines(self, rest: str, indent: int) -> str:
        """A single-quoted scalar continued on more indented lines (no blank line inside)."""
        parts = [rest[1:].rstrip(" ")]
        lines = self.lines
        while True:
            line = lines[self.pos]
            content = line.lstrip(" ")
            if not content or len(line) - len(content) <= indent:
                raise NotSimple
            self.pos += 1
            if _SINGLE_BODY.fullmatch(content):  # no closing quote yet ('' is a quote)
                parts.append(content.rstrip(" "))
                continue
            last = _SINGLE_END.match(content)
            if last is None:
                raise NotSimple
            parts.append(last.group(1))
            _end_of_line(content, last.end())
            return " ".join(parts).replace("''", "'")

    def literal(self, header: str, indent: int) -> str:
        """A ``|`` or ``|-`` block scalar whose first line is not blank."""
        if header == "|":
            keep_last = True
        elif header == "|-":
            keep_last = False
        else:
            raise NotSimple
        lines = self.lines
        start = self.pos
        first = lines[start]
        content = first.lstrip(" ")
        column = len(first) - len(content)
        if not content or column <= indent:
            raise NotSimple
        body: list[str] = []
        end = start
        while end < len(lines):
            line = lines[end]
            if not line:
                body.append("")
            elif line[:column].strip(" "):
                break  # less indented: the scalar is over
            elif not line.strip(" "):
                raise NotSimple  # a line of spaces
            else:
                body.append(line[column:])
            end += 1
        if keep_last and end == len(lines) and body[-1]:
            raise NotSimple  # the text ends without a line break after the scalar
        while not body[-1]:
            body.pop()
        self.pos = end
        return "\n".join(body) + ("\n" if keep_last else "")

    # -- flow collections (on one line) -------------------------------------------------------

    def flow_line(self, text: str) -> Any:
        """A flow collection that takes the rest of the line, without quotes or comments.

        Written out as JSON (each plain scalar a JSON string), decoded by the json module, then
        each string typed as a plain scalar: what JSON refuses here (a trailing comma, an empty
        entry, a key without a value, text after the collection) is exactly what the subset
        leaves to PyYAML. The JSON text of a flow is kept: checks repeat from case to case.
        """
        source = _FLOW_JSON.get(text)
        if source is None:
            source = _flow_json(text)
            if len(_FLOW_JSON) < _MEMO_SIZE:
                _FLOW_JSON[text] = source
        try:
            value, end = _JSON.raw_decode(source)
        except ValueError:
            raise NotSimple from None
        if end != len(source):
            raise NotSimple
        self.type_flow(value)
        return value

    def type_flow(self, node: Any) -> None:
        """Type the strings of a decoded flow collection as plain scalars, in place."""
        first = self.first
        tag = self.tag
        if type(node) is dict:
            for key in node:
                head = key[0]
                if head in _INDICATORS or (head in first and tag(key) != _STR):
                    raise NotSimple
            entries: Any = node.items()
        else:
            entries = enumerate(node)
        for at, value in entries:  # values replaced in place: the size never changes
            if type(value) is str:
                head = value[0]
                if head in _INDICATORS:
                    node[at] = self.flow_scalar(value)
                elif head in first and tag(value) != _STR:
                    node[at] = self.scalar(value)
            else:
                self.type_flow(value)

    def flow_scalar(self, value: str) -> Any:
        first = value[0]
        if first in _INDICATORS and not (first == "-" and value[1:2].isalnum()):
            raise NotSimple
        return self.scalar(value)

    def flow(self, text: str, pos: int) -> tuple[Any, int]:
        """A flow collection on one line, quotes allowed; (value, position after it)."""
        closing = "]" if text[pos] == "[" else "}"
        mapping = closing == "}"
        out: Any = {} if mapping else []
        pos = _skip(text, pos + 1)
        if text[pos] == closing:
            return out, pos + 1
        while True:
            if mapping:
                key, pos = self.flow_plain(text, pos)
                if not isinstance(key, str) or text[pos : pos + 2] != ": ":
                    raise NotSimple
                value, pos = self.flow_node(text, _skip(text, pos + 2))
                out[key] = value
            else:
                value, pos = self.flow_node(text, pos)
                out.append(value)
            pos = _skip(text, pos)
            char = text[pos]
            if char == closing:
                return out, pos + 1
            if char != ",":
                raise NotSimple
            pos = _skip(text, pos + 1)
            if text[pos] in "]}":
                raise NotSimple  # a trailing comma

    def flow_node(self, text: str, pos: int) -> tuple[Any, int]:
        first = text[pos]
        if first == "[" or first == "{":
            return self.flow(text, pos)
        if first == '"' or first == "'":
            return _quoted(text, pos)
        return self.flow_plain(text, pos)

    def flow_plain(self, text: str, pos: int) -> tuple[Any, int]:
        first = text[pos]
        if first in _INDICATORS and not (first == "-" and text[pos + 1 : pos + 2].isalnum()):
            raise NotSimple
        stop = _FLOW_STOP.search(text, pos)
        end = stop.start() if stop else len(text)
        if stop and stop.group() == "#":
            raise NotSimple
        return self.scalar(text[pos:end].rstrip(" ")), end


def _flow_json(text: str) -> str:
    """The JSON text of a quote-free flow collection: its plain scalars as JSON strings."""
    if "\\" in text or text.count(":") != text.count(": "):
        raise NotSimple  # "a:b" is one scalar to YAML, a key and a value to JSON
    tight = text.replace(", ", ",").replace(": ", ":")
    if (  # more spaces than "a, b" or "a: b"
        " ," in tight
        or ", " in tight
        or " :" in tight
        or ": " in tight
        or "[ " in tight
        or " ]" in tight
        or "{ " in tight
        or " }" in tight
    ):
        parts = _FLOW_DELIMITERS.split(text)  # scalar, delimiter, scalar, ... (stripped)
        parts[::2] = ['"' + part + '"' if part else "" for part in parts[::2]]
        return "".join(parts)
    for delimiter, quoted in _QUOTED:  # a quote on each side of each delimiter ...
        tight = tight.replace(delimiter, quoted)
    return tight.replace('""', "")[1:-1]  # ... less the empty strings that makes


def _is_key(content: str) -> bool:
    colon = content.find(":")
    return colon > 0 and (colon + 1 == len(content) or content[colon + 1] == " ")


def _quoted(text: str, pos: int) -> tuple[str, int]:
    if text[pos] == '"':
        close = text.find('"', pos + 1)
        if close < 0:
            raise NotSimple  # unclosed on this line (a multi-line scalar, or an error)
        if "\\" not in text[pos:close]:
            return text[pos + 1 : close], close + 1
        # Escapes: decoded by the json module, if all are ones YAML and JSON read alike.
        try:
            value, end = _JSON.raw_decode(text, pos)
        except ValueError:
            raise NotSimple from None
        escapes = text[pos + 1 : end - 1].replace("\\\\", "")  # then \n \t \r \" only
        allowed = sum(escapes.count(escape) for escape in ("\\n", "\\t", "\\r", '\\"'))
        if escapes.count("\\") != allowed:
            raise NotSimple
        return value, end
    match = _SINGLE.match(text, pos)
    if match is None:
        raise NotSimple
    return match.group(1).replace("''", "'"), match.end()


def _skip(text: str, pos: int) -> int:
    while text[pos] == " ":
        pos += 1
    return pos


def _end_of_line(text: str, pos: int) -> None:
    """After a quoted scalar or a flow collection only a comment may follow."""
    rest = text[pos:]
    stripped = rest.lstrip(" ")
    if stripped and (stripped[0] != "#" or stripped == rest):
        raise NotSimple
