"""Google's Gemini API read from recorded traffic (ladder levels 0 and 3).

The Gemini Developer API and Vertex AI (``google-genai``, LangChain's and LiteLLM's Gemini
clients) name the model in the URL, ``.../models/<model>:generateContent``, and stream with
``:streamGenerateContent?alt=sse``, every event carrying the usage so far. Usage is protobuf
JSON: a count that is zero is left out, so an absent count in a present ``usageMetadata`` is 0.
Thinking tokens are billed as output, so they are counted in it (and as reasoning tokens).
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

_OPERATION = re.compile(r"/(?:models|tunedModels)/[^/:]+:(generateContent|streamGenerateContent)$")
_MODEL = re.compile(r"/(?:models|tunedModels)/([^/:]+):")
_COUNTS = ("promptTokenCount", "candidatesTokenCount", "totalTokenCount")


class Gemini(LlmProvider):
    name = "gemini"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        if not isinstance(request, dict) or _OPERATION.search(path) is None:
            return None
        return "chat"

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        data: dict[str, Any] = {"request_model": model_in_path(exchange.path, _MODEL)}
        if exchange.streamed:
            data.update(_stream(exchange))
        else:
            data.update(_response(exchange.body, exchange, final=True))
        return data


def _usage(raw: dict[str, Any]) -> dict[str, Any]:
    def count(key: str) -> int:
        return number(raw.get(key)) or 0

    thoughts = count("thoughtsTokenCount")
    return usage_of(
        count("promptTokenCount") + count("toolUsePromptTokenCount"),
        count("candidatesTokenCount") + thoughts,
        count("cachedContentTokenCount") or None,
        thoughts or None,
    )


def _response(body: Any, exchange: Interaction, *, final: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        exchange.problems.append("the response is not a JSON object")
        return {}
    data: dict[str, Any] = {}
    if isinstance(body.get("modelVersion"), str):
        data["response_model"] = body["modelVersion"]
    reason = _finish_reason(body)
    if reason is not None:
        data["finish_reason"] = reason
    meta = body.get("usageMetadata")
    if isinstance(meta, dict) and any(key in meta for key in _COUNTS):
        data["usage"] = _usage(meta)
    elif final:
        exchange.problems.append("the response has no usageMetadata")
    return data


def _finish_reason(body: dict[str, Any]) -> str | None:
    candidates = body.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        reason = candidates[0].get("finishReason")
        return str(reason) if reason else None
    feedback = body.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        return f"blocked: {feedback['blockReason']}"  # the prompt itself was refused
    return None


def _has_content(body: dict[str, Any]) -> bool:
    for candidate in body.get("candidates") or []:
        content = candidate.get("content") if isinstance(candidate, dict) else None
        if isinstance(content, dict) and content.get("parts"):
            return True
    return False


def _stream(exchange: Interaction) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for event, payload in json_events(exchange):
        if _has_content(payload):
            data.setdefault("first_token_t", event.t)
        data.update(_response(payload, exchange, final=False))  # the usage so far: last wins
    if "finish_reason" not in data:
        exchange.problems.append("the stream ended before a finishReason (truncated)")
    if "usage" not in data:
        exchange.problems.append("the stream carried no usageMetadata")
    return data
