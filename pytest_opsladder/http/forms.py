"""Multipart and form bodies reduced to their content, for replay matching (ladder level 0).

An HTTP client picks a random multipart boundary for every upload, so the bytes of two uploads
of the same file never match. What identifies a multipart request is its parts, in order: each
part's field name, filename, content type and content (a digest when it is not short text).
A form body (``a=1&b=2``) is its key/value pairs, in order, percent-decoding undone.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl

_BOUNDARY_LINE = re.compile(rb"^--([!-~]{1,200}?)\r?\n")
_PARAM = re.compile(r'(\w+)\*?="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')
_FORM = re.compile(rb"^[A-Za-z0-9_.~%+\-*\[\]]+=[^&\r\n]*(?:&[A-Za-z0-9_.~%+\-*\[\]]+=[^&\r\n]*)*$")
_TEXT_LIMIT = 4096


def multipart_parts(body: bytes) -> list[dict[str, Any]] | None:
    """The parts of a ``multipart/*`` body, or None when ``body`` is not one."""
    match = _BOUNDARY_LINE.match(body)
    if match is None:
        return None
    delimiter = b"--" + match.group(1)
    if not body.rstrip().endswith(delimiter + b"--"):
        return None
    chunks = body.split(delimiter)[1:-1]
    parts = [_part(chunk) for chunk in chunks]
    return None if any(p is None for p in parts) else [p for p in parts if p is not None]


def _part(chunk: bytes) -> dict[str, Any] | None:
    chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
    head, sep, content = chunk.partition(b"\r\n\r\n")
    if not sep:
        head, sep, content = chunk.partition(b"\n\n")
        if not sep:
            return None
    content = content[:-2] if content.endswith(b"\r\n") else content.removesuffix(b"\n")
    headers = _headers(head)
    disposition = _params(headers.get("content-disposition", ""))
    return {
        "name": disposition.get("name"),
        "filename": disposition.get("filename"),
        "content_type": headers.get("content-type"),
        "content": _content(content),
    }


def _headers(head: bytes) -> dict[str, str]:
    out = {}
    for line in head.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def _params(value: str) -> dict[str, str]:
    out = {}
    for match in _PARAM.finditer(value):
        if match.group(1):
            out[match.group(1).lower()] = match.group(2)
        else:
            out[match.group(3).lower()] = match.group(4)
    return out


def _content(content: bytes) -> str:
    if len(content) <= _TEXT_LIMIT:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    digest = hashlib.sha1(content, usedforsecurity=False).hexdigest()
    return f"<{len(content)} bytes sha1:{digest[:16]}>"


def form_pairs(body: bytes) -> list[list[str]] | None:
    """The key/value pairs of an ``application/x-www-form-urlencoded`` body, or None."""
    if not body or len(body) > 1_000_000 or _FORM.match(body.strip()) is None:
        return None
    pairs = parse_qsl(body.strip().decode("ascii", "replace"), keep_blank_values=True)
    return [[k, v] for k, v in pairs]
