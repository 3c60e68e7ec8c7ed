"""Make recorded text safe to write as UTF-8, XML or Markdown (level 7 reports).

Recorded outputs can carry anything a model or tool produced: undecodable bytes (kept as lone
surrogates by surrogateescape), control characters, markup. Each writer cleans its text here
instead of failing the report: a reviewer sees U+FFFD where a byte could not be decoded.
"""

from __future__ import annotations

import re

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#!~<>&])")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def utf8_bytes(text: str) -> bytes:
    """``text`` as UTF-8, every lone surrogate (an undecodable byte) replaced by U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # a str from json.loads never holds a valid pair, so every surrogate here is lone
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def clean(text: object) -> str:
    """Printable text for any writer: str() of the value with lone surrogates replaced."""
    return utf8_bytes(str(text)).decode("utf-8")


def xml_text(text: object) -> str:
    """Text an XML 1.0 document can hold (it forbids most control characters, even escaped)."""
    return _XML_ILLEGAL.sub("\ufffd", clean(text))


def md_text(text: object, width: int = 200) -> str:
    """One line of Markdown that renders as literal text (no links, HTML or table breaks)."""
    line = " ".join(clean(text).split())
    if len(line) > width:
        line = line[: width - 3] + "..."

    def escape(match: re.Match[str]) -> str:
        char = match.group(1)
        return _MD_ENTITIES.get(char, "\\" + char)

    return _MD_SPECIAL.sub(escape, line)
