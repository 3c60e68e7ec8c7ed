"""Make recorded text safe to write as UTF-8, XML or Markdown (level 7 reports).

Recorded outputs can carry anything a model or tool produced: undecodable bytes (kept as lone
surrogates by surrogateescape), control characters, bidi controls, markup. Each writer cleans
its text here instead of failing the report: a reviewer sees U+FFFD where a byte could not be
decoded, and an escape (``\\u001b``, ``\\u202e``) where a character would act instead of
showing (:mod:`pytest_opsladder._visible`).
"""

from __future__ import annotations

import re

from pytest_opsladder._visible import visible, visible_json

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# $ too: GitHub renders $...$ as math
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#!~<>&$])")
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
    """Text an XML 1.0 document can hold (it forbids most control characters, even escaped),
    control and bidi characters written out as escapes (newlines and tabs kept)."""
    return _XML_ILLEGAL.sub("\ufffd", visible(clean(text), "\n\t"))


def html_text(text: object) -> str:
    """What a page shows of ``text``: control and bidi characters as escapes, newlines and
    tabs kept (a template's every expression goes through this before it is escaped)."""
    return visible(clean(text), "\n\t")


def shown_json(text: str) -> str:
    """JSON text whose strings, parsed by a page's script, show as :func:`html_text` does."""
    return visible_json(clean(text), "\n\t")


def md_text(text: object, width: int = 200) -> str:
    """One line of Markdown that renders as literal text (no links, HTML, math or table
    breaks); line breaks become spaces, other control and bidi characters escapes."""
    line = " ".join(visible(clean(text), "\n\t\r").split())
    if len(line) > width:
        line = line[: width - 3] + "..."

    def escape(match: re.Match[str]) -> str:
        char = match.group(1)
        return _MD_ENTITIES.get(char, "\\" + char)

    return _MD_SPECIAL.sub(escape, line)
