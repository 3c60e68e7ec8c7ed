"""Text shown to a person shows every character: none is acted on instead (CLI and reports).

Recorded and user-supplied text (a pause reason, a case id, a tag, a model's output) can hold
characters a terminal or a page *acts on* rather than shows: ANSI escapes (``\\x1b[2J``), a
carriage return that overwrites the line, a bell; and the Unicode bidirectional controls of
"Trojan source" attacks, which reorder what is displayed (``U+202E`` makes ``evil\\u202egpj.exe``
read as ``evilexe.jpg``). :func:`visible` writes each of them out as an escape instead.

The escape is the one JSON, Python and JavaScript share (``\\n``, ``\\r``, ``\\t``, ``\\b``,
``\\f``, else ``\\uXXXX``; a lone surrogate, an undecodable byte, as ``\\udcXX``). JSON text
passed through ``visible(text, keep="\\n\\t")`` therefore still parses to the same data: outside
its strings JSON has no such characters but newlines and tabs, and inside them they are
replaced by their own escapes. :class:`VisibleStream` applies this to all the output of the
``opsladder`` command; :func:`visible_json` makes the strings of JSON data a page shows hold
the escapes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, TextIO

# C0 and C1 controls and DEL; the bidi embeddings, overrides, isolates and marks (LRE RLE PDF
# LRO RLO, LRI RLI FSI PDI, LRM RLM ALM); the line and paragraph separators that browsers and
# some terminals break lines at.
_RANGES = (
    (0x00, 0x1F),
    (0x7F, 0x9F),
    (0x061C, 0x061C),
    (0x200E, 0x200F),
    (0x2028, 0x202E),
    (0x2066, 0x2069),
    (0xD800, 0xDFFF),  # lone surrogates: undecodable bytes kept by surrogateescape
)
HIDDEN = frozenset(chr(code) for low, high in _RANGES for code in range(low, high + 1))
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _class(keep: str) -> str:
    """A regex character class of the characters :func:`visible` escapes, but ``keep``."""
    return "[" + "".join(f"\\u{ord(c):04x}" for c in sorted(HIDDEN - set(keep))) + "]"


@cache
def hidden_characters(keep: str) -> re.Pattern[str]:
    """A pattern of one character :func:`visible` escapes, but ``keep``."""
    return re.compile(_class(keep))


def escaped(char: str) -> str:
    """``char`` as its escape: ``\\n``, ``\\u001b``, ``\\u202e``."""
    return _NAMED.get(char) or f"\\u{ord(char):04x}"


def visible(text: object, keep: str = "") -> str:
    """``str(text)`` with every control and bidi character (but those in ``keep``, such as
    ``"\\n\\t"`` for a multi-line text) written out as an escape."""
    value = str(text)
    pattern = hidden_characters(keep)
    if pattern.search(value) is None:  # the common case: one scan, no copy
        return value
    return pattern.sub(lambda m: escaped(m.group()), value)


def field(text: object) -> str:
    """One value on one line of terminal output (a reason, an id, a label): every control
    character escaped, newlines and tabs included, so a value cannot forge another line."""
    return visible(text)


@cache
def _jsonhidden_characters(keep: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """In JSON text (json.dumps, ensure_ascii=False) a hidden character is raw (bidi, DEL,
    C1) or escaped (C0). The first pattern finds any of them (and, rarely, an escaped
    backslash before a "u"); the second reads the text token by token, an escaped backslash
    first, so that ``\\\\u001b`` (a backslash, then "u001b") is never taken for an escape."""
    letters = "".join(e[1] for c, e in _NAMED.items() if c not in keep)
    named = rf"|\\[{letters}]" if letters else ""
    hint = re.compile(rf"\\u00[0-9a-fA-F]{{2}}{named}|{_class(keep)}")
    return hint, re.compile(rf"\\\\|\\u[0-9a-fA-F]{{4}}{named}|{_class(keep)}")


def visible_json(text: str, keep: str = "") -> str:
    """JSON text whose strings, once parsed, hold :func:`visible` forms instead of control
    and bidi characters: what a page shows as text of the parsed data."""
    hint, tokens = _jsonhidden_characters(keep)
    if hint.search(text) is None:  # the common case: one scan, no copy
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        char = json.loads(f'"{token}"') if token[0] == "\\" else token
        if hidden_characters(keep).fullmatch(char) is None:
            return token  # an escaped backslash, or a character shown as it is
        return json.dumps(escaped(char))[1:-1]

    return tokens.sub(replace, text)


class VisibleStream:
    """A text stream that writes everything through ``visible(text, keep="\\n\\t")``: set as
    ``sys.stdout`` and ``sys.stderr`` while a command runs, so no output of it can move the
    cursor, recolour the terminal or reorder what is shown (JSON output parses the same)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(visible(text, "\n\t"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, encoding, isatty, buffer ...
        return getattr(self.stream, name)


def field_line(*values: object) -> str:
    """Values on one line, separated by tabs (for ``cut``), each through :func:`field`."""
    return "\t".join(field(value) for value in values)
