"""Converting between vcrpy's request/response shapes and the run's JSON form (level 0).

An interaction in ``run.http`` is::

    {"request": {"method", "url", "headers", "body"},
     "response": {"status", "reason", "headers", "body"} | {..., "chunks": [{"t", "text"}]},
     "transport": "httpx" | "vcrpy", "elapsed": seconds}

or, for a request that failed at the transport, ``"error"`` in place of ``"response"``; for
a body cut mid-way, both: the ``response`` with what arrived and ``"partial": true`` (see
:mod:`.failures`).

Bodies are ``{"text": ...}`` or ``{"base64": ...}`` (see :mod:`.bodies`); a streamed response
keeps its chunks with ``t``, the seconds since the response headers arrived.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from pytest_opsladder.http.bodies import (
    ENCODING_HEADERS,
    decode_body,
    decoder_for,
    encode_body,
    is_event_stream,
)
from pytest_opsladder.http.scrub import scrub_headers, scrub_url


def request_bytes(request: Any) -> bytes:
    """The body of a vcrpy Request as bytes, whatever it was built from."""
    body = getattr(request, "body_bytes", None)
    if body is None:
        body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    return _other_body_bytes(body)


def _other_body_bytes(body: Any) -> bytes:
    """Bodies a client stub handed over unserialized (aiohttp's ``json=``/``data=`` dict, a
    form's fields, a list of chunks): bytes that stay the same from recording to replay."""
    if isinstance(body, dict):
        return json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
    if isinstance(body, list | tuple):
        if all(isinstance(c, bytes | bytearray) for c in body):
            return b"".join(body)
        if all(isinstance(f, tuple) and len(f) == 2 for f in body):
            return urlencode([(str(k), str(v)) for k, v in body]).encode()
        return json.dumps(body, ensure_ascii=False, default=str).encode()
    return repr(body).encode("utf-8")  # an object we cannot read: matched by its repr


def stored_request_body(stored: dict[str, Any]) -> bytes:
    return decode_body(stored.get("body"))


def stored_request(method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes) -> Any:
    out: dict[str, Any] = {"method": method.upper(), "url": scrub_url(url)}
    out["headers"] = scrub_headers(headers)
    out["body"] = encode_body(body) if body else None
    return out


def decoded_response_body(
    headers: dict[str, list[str]], body: bytes
) -> tuple[dict[str, Any], bytes]:
    """Headers and body with any content encoding undone (kept as is if we cannot decode it)."""
    encoding = ",".join(headers.get("content-encoding", []))
    if not encoding:
        return headers, body
    decoder = decoder_for(encoding)
    if decoder is None:
        return headers, body
    try:
        plain = decoder.feed(body)
    except Exception:  # a body that lies about its encoding is stored as sent
        return headers, body
    return {k: v for k, v in headers.items() if k not in ENCODING_HEADERS}, plain


def from_vcr(
    request: Any, response: dict[str, Any], elapsed: float, cut: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A vcrpy (request, response dict) as the run's JSON interaction; ``cut`` is the error
    entry of a body that stopped mid-way (the response is then marked partial)."""
    req_headers = [(k, ", ".join(_values(v))) for k, v in dict(request.headers).items()]
    resp_headers = scrub_headers(
        (k, v) for k, vals in (response.get("headers") or {}).items() for v in _values(vals)
    )
    headers, body = decoded_response_body(resp_headers, _bytes(response["body"]["string"]))
    stored_response = {
        "status": response["status"]["code"],
        "reason": response["status"].get("message") or "",
        "headers": headers,
        "body": encode_body(body),
    }
    chunks = response["body"].get("chunks")  # a stream recorded chunk by chunk (aiohttp)
    if chunks and is_event_stream(headers):
        del stored_response["body"]
        stored_response["chunks"] = [{"t": round(t, 6), **encode_body(c)} for t, c in chunks]
    item = {
        "request": stored_request(request.method, request.uri, req_headers, request_bytes(request)),
        "response": stored_response,
        "transport": "vcrpy",
        "elapsed": round(elapsed, 6),
    }
    if cut is not None:
        stored_response["partial"] = True
        item["error"] = cut
    return item


def failed_interaction(request: Any, error: dict[str, Any], elapsed: float) -> dict[str, Any]:
    """A vcrpy request that failed at the transport, as the run's JSON interaction."""
    req_headers = [(k, ", ".join(_values(v))) for k, v in dict(request.headers).items()]
    return {
        "request": stored_request(request.method, request.uri, req_headers, request_bytes(request)),
        "error": error,
        "transport": "vcrpy",
        "elapsed": round(elapsed, 6),
    }


def to_vcr_response(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored response in the shape vcrpy's stubs play back."""
    return {
        "status": {"code": stored["status"], "message": stored.get("reason") or ""},
        "headers": {k: list(v) for k, v in stored.get("headers", {}).items()},
        "body": _vcr_body(stored),
    }


def _vcr_body(stored: dict[str, Any]) -> dict[str, Any]:
    """The body for vcrpy's stubs; a stream also keeps its chunks (aiohttp replays them)."""
    body: dict[str, Any] = {"string": response_bytes(stored)}
    if "chunks" in stored:
        body["chunks"] = [decode_body(c) for c in stored["chunks"]]
    return body


def response_bytes(stored: dict[str, Any]) -> bytes:
    """The whole body of a stored response, chunks joined."""
    if "chunks" in stored:
        return b"".join(decode_body(c) for c in stored["chunks"])
    return decode_body(stored.get("body"))


def _values(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return [_text(value)]


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
