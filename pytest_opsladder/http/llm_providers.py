"""LLM calls read back from recorded HTTP interactions (ladder levels 0, 3 and 7).

Agents reach their models through SDKs (openai, anthropic, agent frameworks on top of them),
not through our ``llm_call()``; the model, the token usage and the timings are all in the HTTP
traffic the run already records. A **provider** recognises an interaction as an LLM API call
(by its path and request body, on any host or path prefix) and reads it; the registry is
ordered, user providers first. An interaction no provider claims is simply not an LLM call.

Reading never raises: a response that claims to be an LLM response but is malformed gives a
call with what could be read and a ``parse_error``.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from pytest_opsladder._json import loads
from pytest_opsladder.http.bodies import decode_body
from pytest_opsladder.http.failures import event_error


@dataclass
class SseEvent:
    """One server-sent event: its name, its data, and when its last byte arrived."""

    t: float
    event: str
    data: str


@dataclass
class Interaction:
    """The parts of one stored interaction a provider reads."""

    method: str
    path: str
    request: Any  # the request body as JSON, or None
    status: int
    body: Any = None  # the JSON response body (non-streamed)
    events: list[SseEvent] | None = None  # the SSE events (streamed)
    elapsed: float | None = None
    header_delay: float = 0.0  # seconds from the request to the response headers
    problems: list[str] = field(default_factory=list)
    raw: bytes | None = None  # the response body's bytes (non-streamed: NDJSON, AWS event streams)
    timed: bool = True  # False: a stream stored whole, its events have no arrival times

    @property
    def streamed(self) -> bool:
        return self.events is not None


class LlmProvider:
    """Recognises and reads one API family. Subclass and :func:`register_llm_provider`."""

    name = "llm"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        """The GenAI operation (``chat``, ``embeddings`` ...) if this is one of ours, else None."""
        raise NotImplementedError

    def read(self, operation: str, exchange: Interaction) -> dict[str, Any]:
        """The call's fields: ``request_model``, ``response_model``, ``usage``, ``finish_reason``,
        ``first_token_t`` (seconds since the headers, streamed only)."""
        raise NotImplementedError


_PROVIDERS: list[LlmProvider] = []


def register_llm_provider(provider: LlmProvider, *, first: bool = True) -> Callable[[], None]:
    """Add a provider (before the built-in ones unless ``first=False``); returns its remover."""
    _builtin_providers()
    if first:
        _PROVIDERS.insert(0, provider)
    else:
        _PROVIDERS.append(provider)
    return lambda: _PROVIDERS.remove(provider) if provider in _PROVIDERS else None


def llm_providers() -> list[LlmProvider]:
    _builtin_providers()
    return list(_PROVIDERS)


_LOADED: list[bool] = []
_LOAD_LOCK = threading.Lock()


def _builtin_providers() -> None:
    """Add the built-in providers, once. Marked loaded only once they are in, and under a lock:
    the first concurrent runs read their calls at once, and one that found the mark set before
    the providers were added read its call as "not an LLM call" (its usage lost, counted 0)."""
    if _LOADED:
        return
    with _LOAD_LOCK:
        if _LOADED:
            return
        from pytest_opsladder.http.llm_anthropic import AnthropicMessages
        from pytest_opsladder.http.llm_bedrock import BedrockRuntime
        from pytest_opsladder.http.llm_cohere import CohereV2
        from pytest_opsladder.http.llm_gemini import Gemini
        from pytest_opsladder.http.llm_ollama import Ollama
        from pytest_opsladder.http.llm_openai import OpenAICompatible

        builtin = [AnthropicMessages(), OpenAICompatible(), Gemini(), BedrockRuntime()]
        _PROVIDERS.extend([*builtin, Ollama(), CohereV2()])
        _LOADED.append(True)


# -- recognising -------------------------------------------------------------------------------
def _request_json(stored: dict[str, Any]) -> Any:
    try:
        return _body_json(stored.get("body"))
    except ValueError:
        return None


def _body_json(body: dict[str, Any] | None) -> Any:
    """A stored body as JSON (None when empty); text bodies are parsed without re-encoding."""
    if body and isinstance(body.get("text"), str):
        return loads(body["text"]) if body["text"] else None
    raw = decode_body(body)
    return loads(raw) if raw else None


def claim(method: str, url: str, request: Any) -> tuple[LlmProvider, str] | None:
    """The provider and operation of a request, or None when it is not an LLM call."""
    if method.upper() != "POST":
        return None
    path = urlsplit(url).path.rstrip("/")
    if not _LOADED:
        _builtin_providers()
    for provider in list(_PROVIDERS):  # a copy: another thread may register one meanwhile
        try:
            op = provider.operation("POST", path, request)
        except Exception:  # a broken user provider must not break the run it reads
            op = None
        if op:
            return provider, op
    return None


def llm_call_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The ``llm_call`` event data of one stored interaction, or None if it is not one."""
    req = item.get("request") or {}
    request = _request_json(req)
    claimed = claim(str(req.get("method", "")), str(req.get("url", "")), request)
    if claimed is None:
        return None
    provider, op = claimed
    exchange = _interaction(req, request, item)
    data: dict[str, Any] = {"source": "http", "provider": provider.name, "operation": op}
    try:
        data.update(_transport_error(item) or _read(provider, op, exchange))
        _cut_stream(item, data, exchange)
    except Exception as exc:  # a malformed response is a call with a parse error, not a crash
        exchange.problems.append(f"{type(exc).__name__}: {exc}")
    data.setdefault("request_model", _model_of(request))
    data.setdefault("response_model", None)
    data.setdefault("usage", None)
    data["model"] = data.get("response_model") or data.get("request_model")
    data["streamed"] = exchange.streamed
    data["duration_s"] = exchange.elapsed
    if exchange.problems:
        data["parse_error"] = "; ".join(dict.fromkeys(exchange.problems))
    return data


def _read(provider: LlmProvider, op: str, exchange: Interaction) -> dict[str, Any]:
    if not 200 <= exchange.status < 300:
        return _http_error(exchange)
    data = provider.read(op, exchange)
    first = data.pop("first_token_t", None)
    if first is not None and exchange.timed:
        data["ttft_s"] = round(exchange.header_delay + float(first), 6)
    return data


def _transport_error(item: dict[str, Any]) -> dict[str, Any] | None:
    """A call that failed at the transport (see .failures) got no answer and used no tokens."""
    error = item.get("error")
    if not isinstance(error, dict) or "response" in item:  # a cut stream is read: _cut_stream
        return None
    data: dict[str, Any] = {"error": f"{error.get('kind')}: {event_error(error)}"}
    data["usage"] = {"input_tokens": 0, "output_tokens": 0, "prompt_tokens": 0,
                     "completion_tokens": 0}  # fmt: skip
    return data


def _cut_stream(item: dict[str, Any], data: dict[str, Any], exchange: Interaction) -> None:
    """A response cut mid-body (see .failures) is no complete call: its usage is unknown (None,
    with a parse_error saying so) unless the stream had already carried its final usage (a
    usage together with a finish reason)."""
    error, response = item.get("error"), item.get("response")
    if not isinstance(error, dict) or not isinstance(response, dict):
        return
    data["error"] = f"{error.get('kind')}: {event_error(error)}"
    if data.get("usage") and data.get("finish_reason"):
        return
    data["usage"] = None
    exchange.problems.append(
        f"the stream was cut ({error.get('kind')}) before the call ended: its usage is unknown"
    )


def _http_error(exchange: Interaction) -> dict[str, Any]:
    """A refused call (429, 500 ...) consumed no tokens; its error says why."""
    body = exchange.body if isinstance(exchange.body, dict) else {}
    err = body.get("error")
    message = err.get("message") if isinstance(err, dict) else err
    message = message or body.get("message") or body.get("Message")  # Cohere, Bedrock
    data: dict[str, Any] = {"error": f"HTTP {exchange.status}: {message or 'no message'}"}
    data["usage"] = {"input_tokens": 0, "output_tokens": 0, "prompt_tokens": 0,
                     "completion_tokens": 0}  # fmt: skip
    return data


def _model_of(request: Any) -> str | None:
    if isinstance(request, dict) and isinstance(request.get("model"), str):
        return str(request["model"])
    return None


def _interaction(req: dict[str, Any], request: Any, item: dict[str, Any]) -> Interaction:
    resp = item.get("response") or {}
    elapsed = item.get("elapsed")
    url = str(req.get("url", ""))
    exchange = Interaction(
        method="POST",
        path=url.split("?", 1)[0],  # a suffix match and the Azure deployment need no more
        request=request,
        status=int(resp.get("status") or 0),
        elapsed=float(elapsed) if isinstance(elapsed, int | float) else None,
    )
    if "chunks" in resp:
        chunks = [(float(c.get("t", 0.0)), decode_body(c)) for c in resp["chunks"]]
        exchange.events = sse_events(chunks, exchange.problems)
        last = chunks[-1][0] if chunks else 0.0
        exchange.header_delay = max((exchange.elapsed or last) - last, 0.0)
    elif _event_stream(resp.get("headers")):
        # a stream stored whole (aiohttp through vcrpy): its events, with no arrival times
        exchange.events = sse_events([(0.0, _raw_body(resp.get("body")) or b"")], exchange.problems)
        exchange.timed = False
    else:
        exchange.body = _json_body(resp.get("body"), exchange.problems)
        if exchange.body is None:
            exchange.raw = _raw_body(resp.get("body"))
    return exchange


def _event_stream(headers: Any) -> bool:
    if not isinstance(headers, dict):
        return False
    for name, values in headers.items():
        if str(name).lower() == "content-type":
            types = values if isinstance(values, list) else [values]
            return any("text/event-stream" in str(t).lower() for t in types)
    return False


NOT_JSON = "the response body is not JSON"


def _json_body(body: dict[str, Any] | None, problems: list[str]) -> Any:
    try:
        return _body_json(body)
    except ValueError:
        problems.append(NOT_JSON)
        return None


def _raw_body(body: dict[str, Any] | None) -> bytes | None:
    try:
        return decode_body(body) if body else None
    except ValueError:
        return None


def raw_body(exchange: Interaction) -> bytes:
    """The body of a provider that does not answer in one JSON document (NDJSON lines, an AWS
    event stream): not being JSON is then no problem."""
    if NOT_JSON in exchange.problems:
        exchange.problems.remove(NOT_JSON)
    return exchange.raw or b""


def model_in_path(path: str, pattern: re.Pattern[str]) -> str | None:
    """A model named in the URL (Gemini, Bedrock), percent-decoded (``v1%3A0``)."""
    found = pattern.search(path)
    return unquote(found.group(1)) if found else None


def sse_events(chunks: list[tuple[float, bytes]], problems: list[str]) -> list[SseEvent]:
    """Split recorded chunks into SSE events; an event split across chunks gets the later time.
    The text is decoded and its CRLF line ends read across chunk edges (a character's bytes,
    or a CR and its LF, may fall in two chunks)."""
    out: list[SseEvent] = []
    buffer = ""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for t, data in chunks:
        text = decoder.decode(data)
        if text[:1] == "\n" and buffer[-1:] == "\r":
            buffer = buffer[:-1]  # a CRLF cut at the chunk's edge
        seen = len(buffer)
        buffer += text.replace("\r\n", "\n")
        if buffer.find("\n\n", max(seen - 1, 0)) < 0:  # only the new text can complete one
            continue
        blocks = buffer.split("\n\n")  # at once: one chunk may hold hundreds of events
        buffer = blocks.pop()
        for block in blocks:
            event = _sse_block(t, block)
            if event is not None:
                out.append(event)
    buffer += decoder.decode(b"", final=True)
    if buffer.strip():
        tail = _sse_block(chunks[-1][0], buffer)
        if tail is not None:
            out.append(tail)
        problems.append("the stream ended inside an event (truncated)")
    return out


def _sse_block(t: float, block: str) -> SseEvent | None:
    name, data = "", []
    for line in block.split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return SseEvent(t, name, "\n".join(data)) if data or name else None


def sse_json(event: SseEvent, problems: list[str]) -> Any:
    """The JSON data of an event (None, with a problem noted, when it is not JSON)."""
    try:
        return loads(event.data)
    except ValueError:
        problems.append(f"an event's data is not JSON: {event.data[:40]!r}")
        return None


def json_events(exchange: Interaction) -> Iterator[tuple[SseEvent, dict[str, Any]]]:
    """The stream's events whose data is a JSON object, with it (others noted as problems)."""
    for event in exchange.events or []:
        payload = sse_json(event, exchange.problems)
        if isinstance(payload, dict):
            yield event, payload


def number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def usage_of(
    tokens_in: int | None,
    tokens_out: int | None,
    cached: int | None = None,
    reasoning: int | None = None,
) -> dict[str, Any]:
    """Usage in one shape for every provider (with the chat-completions aliases)."""
    usage: dict[str, Any] = {"input_tokens": tokens_in, "output_tokens": tokens_out}
    usage["prompt_tokens"], usage["completion_tokens"] = tokens_in, tokens_out
    if cached is not None:
        usage["cached_tokens"] = cached
    if reasoning is not None:
        usage["reasoning_tokens"] = reasoning
    return usage
