"""Cohere's v2 API read from recorded traffic (ladder levels 0 and 3).

``/v2/chat`` (``cohere.ClientV2``, LangChain's ChatCohere) answers with ``usage.tokens`` (what
the model read and wrote) and ``usage.billed_units`` (what is billed); the tokens are used, the
billed units where the tokens are absent. A stream is SSE whose ``message-end`` event holds
the usage in its ``delta``. ``/v2/embed`` bills its input in ``meta.billed_units``.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder.http.llm_providers import (
    Interaction,
    LlmProvider,
    json_events,
    number,
    usage_of,
)


class CohereV2(LlmProvider):
    name = "cohere"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        if not isinstance(request, dict) or not isinstance(request.get("model"), str):
            return None
        if path.endswith("/v2/chat") and "messages" in request:
            return "chat"
        return "embeddings" if path.endswith("/v2/embed") else None

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        if operation == "embeddings":
            return _embedding(exchange)
        return _stream(exchange) if exchange.streamed else _chat(exchange.body, exchange)


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    for key in ("tokens", "billed_units"):
        counts = raw.get(key)
        if isinstance(counts, dict) and "input_tokens" in counts:
            return usage_of(number(counts.get("input_tokens")), number(counts.get("output_tokens")))
    return None


def _chat(body: Any, exchange: Interaction) -> dict[str, Any]:
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {"finish_reason": body.get("finish_reason")}
    usage = _usage(body.get("usage"))
    if usage is None:
        exchange.problems.append("the response has no usage")
    else:
        data["usage"] = usage
    return data


def _stream(exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for event, payload in json_events(exchange):
        kind = str(payload.get("type") or event.event)
        if kind == "content-delta":
            data.setdefault("first_token_t", event.t)
        elif kind == "message-end":
            delta = _mapping(payload.get("delta"))
            data.update(_chat({"finish_reason": None, **delta}, exchange))
            data["ended"] = True
    if not data.pop("ended", False):
        exchange.problems.append("the stream ended before message-end (truncated)")
    return data


def _embedding(exchange: Interaction) -> dict[str, Any]:
    billed = _mapping(_mapping(_mapping(exchange.body).get("meta")).get("billed_units"))
    tokens_in = number(billed.get("input_tokens"))
    if tokens_in is None:
        exchange.problems.append("the response has no meta.billed_units.input_tokens")
    return {"usage": usage_of(tokens_in, 0)}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
