"""Amazon Bedrock Runtime read from recorded traffic (ladder levels 0 and 3).

boto3 (and LangChain's and LiteLLM's Bedrock clients) call ``/model/<model id>/<operation>``,
the model id percent-encoded in the path (``...-v1%3A0``):

- ``converse`` answers JSON with ``usage`` (``inputTokens``, ``outputTokens``, cache counts);
- ``converse-stream`` answers an AWS event stream (``application/vnd.amazon.eventstream``:
  binary frames, each a JSON payload named by its ``:event-type`` header), the usage in its
  ``metadata`` event;
- ``invoke`` and ``invoke-with-response-stream`` with an Anthropic body
  (``anthropic_version``) answer in the Messages API's shape, streamed as ``chunk`` frames
  whose ``bytes`` are Anthropic's stream events.

The event stream is stored as the response body (it is not SSE), so its frames carry no
arrival times and no time to first token is read from it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from typing import Any

from pytest_opsladder.http import llm_anthropic
from pytest_opsladder.http.llm_providers import (
    Interaction,
    LlmProvider,
    SseEvent,
    model_in_path,
    number,
    raw_body,
    usage_of,
)

_OPERATION = re.compile(
    r"/model/[^/]+/(converse|converse-stream|invoke|invoke-with-response-stream)$"
)
_MODEL = re.compile(r"/model/([^/]+)/")
_STREAMS = ("converse-stream", "invoke-with-response-stream")


class BedrockRuntime(LlmProvider):
    name = "bedrock"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        found = _OPERATION.search(path)
        if found is None or not isinstance(request, dict):
            return None
        kind = found.group(1)
        if kind.startswith("invoke") and "anthropic_version" not in request:
            return None  # another model family's native body: nothing known to read
        return kind

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        data: dict[str, Any] = {"request_model": model_in_path(exchange.path, _MODEL)}
        if operation in _STREAMS:
            frames = event_frames(raw_body(exchange), exchange.problems)
            read = _converse_stream if operation == "converse-stream" else _invoke_stream
            data.update(read(frames, exchange))
        elif operation == "converse":
            data.update(_converse(exchange.body, exchange))
        else:
            data.update(llm_anthropic.read_message(exchange.body, exchange))
        # Bedrock bills (and the price table names) the model id of the URL, not the name the
        # Anthropic body gives the model it served
        data.pop("response_model", None)
        return data


def _usage(raw: dict[str, Any]) -> dict[str, Any]:
    cache_read = number(raw.get("cacheReadInputTokens"))
    cache_write = number(raw.get("cacheWriteInputTokens"))
    tokens_in = number(raw.get("inputTokens"))
    if tokens_in is not None:  # cached input is counted apart, as Anthropic's API does
        tokens_in += (cache_read or 0) + (cache_write or 0)
    return usage_of(tokens_in, number(raw.get("outputTokens")), cache_read)


def _converse(body: Any, exchange: Interaction) -> dict[str, Any]:
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {"finish_reason": body.get("stopReason")}
    if isinstance(body.get("usage"), dict):
        data["usage"] = _usage(body["usage"])
    else:
        exchange.problems.append("the response has no usage")
    return data


def _converse_stream(frames: list[tuple[str, Any]], exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for kind, payload in frames:
        if not isinstance(payload, dict):
            continue
        if kind == "messageStop":
            data["finish_reason"] = payload.get("stopReason")
        elif kind == "metadata" and isinstance(payload.get("usage"), dict):
            data["usage"] = _usage(payload["usage"])
    if "finish_reason" not in data:
        exchange.problems.append("the stream ended before messageStop (truncated)")
    if "usage" not in data:
        exchange.problems.append("the stream carried no metadata usage")
    return data


def _invoke_stream(frames: list[tuple[str, Any]], exchange: Interaction) -> dict[str, Any]:
    """Anthropic's stream events, each the base64 ``bytes`` of a ``chunk`` frame."""
    events: list[SseEvent] = []
    for kind, payload in frames:
        raw = payload.get("bytes") if kind == "chunk" and isinstance(payload, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            text = base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            exchange.problems.append("a chunk's bytes are not base64 UTF-8")
            continue
        events.append(SseEvent(0.0, "", text))
    streamed = Interaction(exchange.method, exchange.path, exchange.request, 200, events=events)
    data = llm_anthropic.read_stream(streamed)
    exchange.problems += streamed.problems
    data.pop("first_token_t", None)  # frames have no arrival times
    return data


_PRELUDE = struct.Struct(">III")  # total length, headers length, prelude CRC


def event_frames(raw: bytes, problems: list[str]) -> list[tuple[str, Any]]:
    """The ``(event type, JSON payload)`` of each frame of an AWS event stream. A frame that
    runs past the end, or an exception frame, is noted as a problem."""
    frames: list[tuple[str, Any]] = []
    at = 0
    while at + _PRELUDE.size <= len(raw):
        total, header_len, _ = _PRELUDE.unpack_from(raw, at)
        if total < 16 + header_len or at + total > len(raw):
            problems.append("the event stream ends inside a frame (truncated)")
            return frames
        start = at + _PRELUDE.size
        headers = _frame_headers(raw[start : start + header_len])
        payload = raw[start + header_len : at + total - 4]
        frames.append(_frame(headers, payload, problems))
        at += total
    if at != len(raw):
        problems.append("the event stream ends inside a frame (truncated)")
    return frames


def _frame(headers: dict[str, str], payload: bytes, problems: list[str]) -> tuple[str, Any]:
    kind = headers.get(":event-type") or headers.get(":exception-type") or ""
    if headers.get(":message-type") == "exception":
        problems.append(f"the stream ended with an exception: {kind}")
    try:
        return kind, json.loads(payload) if payload else None
    except ValueError:
        problems.append(f"a {kind or 'stream'} frame's payload is not JSON")
        return kind, None


def _frame_headers(raw: bytes) -> dict[str, str]:
    """The string-valued headers of a frame (type 7); the others are skipped by their size."""
    headers: dict[str, str] = {}
    at = 0
    while at < len(raw):
        size = raw[at]
        name = raw[at + 1 : at + 1 + size].decode("utf-8", "replace")
        at += 1 + size
        kind = raw[at] if at < len(raw) else -1
        at += 1
        width = _FIXED.get(kind)
        if width is not None:
            at += width
            continue
        if kind not in (6, 7) or at + 2 > len(raw):
            break  # an unknown header type: the rest cannot be read
        (length,) = struct.unpack_from(">H", raw, at)
        value = raw[at + 2 : at + 2 + length]
        at += 2 + length
        if kind == 7:
            headers[name] = value.decode("utf-8", "replace")
    return headers


# Header value types of the event stream encoding and their fixed widths (6 and 7, bytes and
# strings, carry a 2-byte length).
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
