"""OpenAI and OpenAI-compatible APIs read from recorded traffic (ladder levels 0 and 3).

Recognised by path suffix on any host and prefix, so vLLM, Ollama, LiteLLM proxies and Azure
deployments (``/openai/deployments/<name>/chat/completions``) are read like api.openai.com:
chat completions (streamed with or without ``include_usage``), the Responses API (streamed or
not), embeddings and legacy completions.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_opsladder.http.llm_providers import (
    Interaction,
    LlmProvider,
    SseEvent,
    json_events,
    number,
    sse_json,
    usage_of,
)

_SUFFIXES = (
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/embeddings", "embeddings"),
    ("/completions", "text_completion"),
)
_DEPLOYMENT = re.compile(r"/deployments/([^/]+)/")


class OpenAICompatible(LlmProvider):
    name = "openai"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        if not isinstance(request, dict):
            return None
        for suffix, op in _SUFFIXES:
            if path.endswith(suffix):
                return op
        return None

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        data: dict[str, Any] = {"request_model": _request_model(exchange)}
        if operation == "responses":
            read = _responses_stream if exchange.streamed else _responses_json
        else:
            read = _chat_stream if exchange.streamed else _chat_json
        data.update(read(exchange))
        return data


def _request_model(exchange: Interaction) -> str | None:
    model = exchange.request.get("model") if isinstance(exchange.request, dict) else None
    if isinstance(model, str):
        return model
    found = _DEPLOYMENT.search(exchange.path + "/")
    return found.group(1) if found else None


def _chat_usage(raw: Any) -> dict[str, Any]:
    usage = raw if isinstance(raw, dict) else {}
    details_in = usage.get("prompt_tokens_details") or {}
    details_out = usage.get("completion_tokens_details") or {}
    out = number(usage.get("completion_tokens"))
    if out is None and "prompt_tokens" in usage:
        out = 0  # embeddings: no output tokens by construction
    return usage_of(
        number(usage.get("prompt_tokens")),
        out,
        number(details_in.get("cached_tokens")),
        number(details_out.get("reasoning_tokens")),
    )


def _chat_json(exchange: Interaction) -> dict[str, Any]:
    body = exchange.body
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {"response_model": body.get("model")}
    choices = body.get("choices") or []
    if choices and isinstance(choices[0], dict):
        data["finish_reason"] = choices[0].get("finish_reason")
    if isinstance(body.get("usage"), dict):
        data["usage"] = _chat_usage(body["usage"])
    else:
        exchange.problems.append("the response has no usage")
    return data


def _chat_stream(exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    done = False
    for event in exchange.events or []:
        if event.data.strip() == "[DONE]":
            done = True
            continue
        chunk = sse_json(event, exchange.problems)
        if isinstance(chunk, dict):
            _chat_chunk(chunk, event, data, exchange)
    _stream_end(data, exchange, done or "finish_reason" in data)
    if "usage" not in data:
        wanted = (exchange.request or {}).get("stream_options") or {}
        why = "include_usage was not requested" if not wanted.get("include_usage") else "absent"
        data["usage_missing"] = f"the stream carried no usage ({why})"
    return data


def _chat_chunk(
    chunk: dict[str, Any], event: SseEvent, data: dict[str, Any], exchange: Interaction
) -> None:
    if "choices" not in chunk and "usage" not in chunk:
        exchange.problems.append(f"unknown stream event {event.data[:40]!r}")
        return
    data.setdefault("response_model", chunk.get("model"))
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if any(delta.get(k) for k in ("content", "tool_calls", "refusal", "reasoning_content")):
            data.setdefault("first_token_t", event.t)
        if choice.get("finish_reason"):
            data["finish_reason"] = choice["finish_reason"]
    if isinstance(chunk.get("usage"), dict):
        data["usage"] = _chat_usage(chunk["usage"])


def _stream_end(data: dict[str, Any], exchange: Interaction, finished: bool) -> None:
    if not finished:
        exchange.problems.append("the stream ended before its last event (truncated)")


def _responses_usage(raw: Any) -> dict[str, Any]:
    usage = raw if isinstance(raw, dict) else {}
    details_in = usage.get("input_tokens_details") or {}
    details_out = usage.get("output_tokens_details") or {}
    return usage_of(
        number(usage.get("input_tokens")),
        number(usage.get("output_tokens")),
        number(details_in.get("cached_tokens")),
        number(details_out.get("reasoning_tokens")),
    )


def _response_object(body: Any, exchange: Interaction) -> dict[str, Any]:
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {"response_model": body.get("model")}
    status = body.get("status")
    reason = (body.get("incomplete_details") or {}).get("reason")
    data["finish_reason"] = reason or status
    if isinstance(body.get("usage"), dict):
        data["usage"] = _responses_usage(body["usage"])
    else:
        exchange.problems.append("the response has no usage")
    return data


def _responses_json(exchange: Interaction) -> dict[str, Any]:
    return _response_object(exchange.body, exchange)


_RESPONSES_END = ("response.completed", "response.incomplete", "response.failed")


def _responses_stream(exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for event, payload in json_events(exchange):
        kind = str(payload.get("type") or event.event)
        if not kind.startswith(("response.", "error")):
            exchange.problems.append(f"unknown stream event type {kind!r}")
        if kind.endswith(".delta"):
            data.setdefault("first_token_t", event.t)
        if kind == "response.created" and isinstance(payload.get("response"), dict):
            data.setdefault("response_model", payload["response"].get("model"))
        if kind in _RESPONSES_END:
            first = data.pop("first_token_t", None)
            data.update(_response_object(payload.get("response"), exchange))
            data["first_token_t"] = first
            data["ended"] = True
    if not data.pop("ended", False):
        exchange.problems.append("the stream ended before response.completed (truncated)")
    return data
