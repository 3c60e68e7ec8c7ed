"""Anthropic's Messages API read from recorded traffic (ladder levels 0 and 3).

Also Claude on Vertex AI (``AnthropicVertex``: ``:rawPredict`` and ``:streamRawPredict``, the
model in the URL); Claude on Bedrock is read by :mod:`pytest_opsladder.http.llm_bedrock`.
A streamed message carries its usage in two places: ``message_start`` has the input tokens
(and a first output count), ``message_delta`` the final, cumulative output tokens.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_opsladder.http.llm_providers import (
    Interaction,
    LlmProvider,
    json_events,
    model_in_path,
    number,
    usage_of,
)

# Claude on Vertex AI: .../publishers/anthropic/models/<model>:rawPredict (or streamRawPredict)
_VERTEX = re.compile(r"/models/([^/:]+):(?:stream)?[rR]awPredict$")

_KNOWN_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
}


class AnthropicMessages(LlmProvider):
    name = "anthropic"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        if not isinstance(request, dict) or "messages" not in request:
            return None
        if _VERTEX.search(path) is not None:  # AnthropicVertex: the model is in the URL
            return "chat" if "anthropic_version" in request else None
        # Model and messages tell it from other ".../messages" endpoints (OpenAI threads).
        return "chat" if path.endswith("/messages") and "model" in request else None

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if "model" not in (exchange.request or {}):
            data["request_model"] = model_in_path(exchange.path, _VERTEX)
        if exchange.streamed:
            data.update(read_stream(exchange))
        else:
            data.update(read_message(exchange.body, exchange))
        return data


def _usage(raw: dict[str, Any], output: int | None = None) -> dict[str, Any]:
    cache_read = number(raw.get("cache_read_input_tokens"))
    cache_write = number(raw.get("cache_creation_input_tokens"))
    tokens_in = number(raw.get("input_tokens"))
    if tokens_in is not None:  # Anthropic counts cached input apart; all of it was input
        tokens_in += (cache_read or 0) + (cache_write or 0)
    out = output if output is not None else number(raw.get("output_tokens"))
    return usage_of(tokens_in, out, cache_read)


def read_message(body: Any, exchange: Interaction) -> dict[str, Any]:
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {"response_model": body.get("model")}
    data["finish_reason"] = body.get("stop_reason")
    if isinstance(body.get("usage"), dict):
        data["usage"] = _usage(body["usage"])
    else:
        exchange.problems.append("the response has no usage")
    return data


def read_stream(exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    start: dict[str, Any] | None = None
    output: int | None = None
    stopped = False
    for event, payload in json_events(exchange):
        kind = str(payload.get("type") or event.event)
        if kind not in _KNOWN_EVENTS:
            exchange.problems.append(f"unknown stream event type {kind!r}")
        elif kind == "message_start":
            start = payload.get("message") or {}
            data["response_model"] = start.get("model")
        elif kind == "content_block_delta":
            data.setdefault("first_token_t", event.t)
        elif kind == "message_delta":
            output = number((payload.get("usage") or {}).get("output_tokens"))
            data["finish_reason"] = (payload.get("delta") or {}).get("stop_reason")
        stopped = stopped or kind == "message_stop"
    _finish(data, start, output, stopped, exchange)
    return data


def _finish(
    data: dict[str, Any],
    start: dict[str, Any] | None,
    output: int | None,
    stopped: bool,
    exchange: Interaction,
) -> None:
    if start is None or not isinstance(start.get("usage"), dict):
        exchange.problems.append("the stream has no message_start usage")
    else:
        data["usage"] = _usage(start["usage"], output)
    if not stopped:
        exchange.problems.append("the stream ended before message_stop (truncated)")
