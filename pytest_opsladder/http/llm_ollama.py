"""Ollama's native API read from recorded traffic (ladder levels 0 and 3).

``/api/chat`` and ``/api/generate`` (the ``ollama`` client, LangChain's ChatOllama) answer one
JSON object, or, when streaming (the server's default when ``stream`` is not sent), newline-
delimited JSON whose last line (``"done": true``) holds the counts: ``prompt_eval_count`` input
tokens, ``eval_count`` output tokens. ``/api/embed`` counts its input the same way. Ollama's
OpenAI-compatible ``/v1/...`` endpoints are read as OpenAI's.

Ollama leaves ``prompt_eval_count`` out when it evaluated no prompt token (the whole prompt was
in its cache): the input tokens are then not known, and are missing, not 0.
"""

from __future__ import annotations

from typing import Any

from pytest_opsladder._json import loads
from pytest_opsladder.http.llm_providers import (
    Interaction,
    LlmProvider,
    number,
    raw_body,
    usage_of,
)

_OPERATIONS = (
    ("/api/chat", "chat"),
    ("/api/generate", "text_completion"),
    ("/api/embed", "embeddings"),
)


class Ollama(LlmProvider):
    name = "ollama"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        if not isinstance(request, dict) or not isinstance(request.get("model"), str):
            return None
        for suffix, op in _OPERATIONS:
            if path.endswith(suffix):
                return op
        return None

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        final = exchange.body if isinstance(exchange.body, dict) else _last_line(exchange)
        if not isinstance(final, dict):
            return {}
        if operation == "embeddings":
            return _embedding(final, exchange)
        return _generation(final, exchange)


def _last_line(exchange: Interaction) -> dict[str, Any] | None:
    """The last object of an NDJSON stream (the one with the counts), or None."""
    last: Any = None
    for line in raw_body(exchange).splitlines():
        if not line.strip():
            continue
        try:
            last = loads(line)
        except ValueError:
            exchange.problems.append(f"a stream line is not JSON: {line[:40]!r}")
    if not isinstance(last, dict):
        exchange.problems.append("the response is not JSON")
        return None
    return last


def _generation(final: dict[str, Any], exchange: Interaction) -> dict[str, Any]:
    if final.get("error"):
        exchange.problems.append(f"the stream ended with an error: {final['error']}")
        return {}
    if final.get("done") is not True:
        exchange.problems.append("the stream ended before its done line (truncated)")
        return {"response_model": final.get("model")}
    data: dict[str, Any] = {"response_model": final.get("model")}
    data["finish_reason"] = final.get("done_reason")
    tokens_in = number(final.get("prompt_eval_count"))
    if tokens_in is None:
        exchange.problems.append("no prompt_eval_count: the prompt came from Ollama's cache")
    data["usage"] = usage_of(tokens_in, number(final.get("eval_count")))
    return data


def _embedding(final: dict[str, Any], exchange: Interaction) -> dict[str, Any]:
    tokens_in = number(final.get("prompt_eval_count"))
    if tokens_in is None:
        exchange.problems.append("the response has no prompt_eval_count")
    data: dict[str, Any] = {"response_model": final.get("model")}
    data["usage"] = usage_of(tokens_in, 0)
    return data
