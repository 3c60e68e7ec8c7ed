"""HTTP bodies as JSON-able cassette data, and content decoding (ladder level 0).

Text stays readable (``{"text": ...}``); anything that is not UTF-8 is base64
(``{"base64": ...}``). Compressed responses are stored decoded, so the cassette is readable and
the secret scanner sees the real bytes; the Content-Encoding header is dropped with them.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any, Protocol

from pytest_opsladder.exceptions import CassetteReplayError

ENCODING_HEADERS = ("content-encoding", "content-length")


def encode_body(data: bytes) -> dict[str, str]:
    """The cassette form of ``data``: text when it decodes as UTF-8, base64 otherwise."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def decode_body(stored: dict[str, Any] | None) -> bytes:
    """The bytes of a stored body (an absent body is empty). A body stored as structured JSON
    (``{"json": value}``, the readable form of JSON bodies) is that value, compactly encoded."""
    if not stored:
        return b""
    if "base64" in stored:
        try:
            return base64.b64decode(str(stored["base64"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CassetteReplayError(
                f"a stored HTTP body is not valid base64 ({exc}): {str(stored['base64'])[:40]!r}"
                ". The cassette was damaged or edited by hand; re-record the run."
            ) from exc
    if "json" in stored:
        return json.dumps(stored["json"], ensure_ascii=False, separators=(",", ":")).encode()
    text = str(stored.get("text", ""))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a hand-edited lone surrogate: kept, not a crash
        return text.encode("utf-8", "surrogatepass")


class Decoder(Protocol):
    def feed(self, data: bytes) -> bytes: ...


class _Identity:
    def feed(self, data: bytes) -> bytes:
        return data


class _Zlib:
    def __init__(self, wbits: int) -> None:
        self._obj = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> bytes:
        return self._obj.decompress(data)


class _Brotli:
    def __init__(self) -> None:
        import brotli  # type: ignore[import-untyped]

        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        return bytes(self._obj.process(data))


def decoder_for(content_encoding: str | None) -> Decoder | None:
    """An incremental decoder for a Content-Encoding, or None when we cannot decode it."""
    value = (content_encoding or "").strip().lower()
    if value in ("", "identity"):
        return _Identity()
    if value in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if value == "deflate":
        return _Zlib(zlib.MAX_WBITS | 32)
    if value == "br":
        try:
            return _Brotli()
        except ImportError:
            return None
    return None


def is_event_stream(headers: dict[str, list[str]]) -> bool:
    """Whether a response is server-sent events (stored chunk by chunk)."""
    types = headers.get("content-type") or []
    return any("text/event-stream" in t.lower() for t in types)
