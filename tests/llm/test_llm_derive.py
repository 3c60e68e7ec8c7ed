"""LLM calls read from stored interactions: every API shape, bad input, the registry, cost."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from wire_server import _anthropic_events, _chat_events, _responses_events

from pytest_opsladder import LlmProvider, llm_call, register_llm_provider
from pytest_opsladder.capture.metrics import compute_metrics
from pytest_opsladder.capture.run import Run, activate
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.drift.table import metrics_table, parse_prices, price_key
from pytest_opsladder.http.bodies import encode_body
from pytest_opsladder.http.llm_providers import llm_call_of

USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


def _item(url: str, request: dict[str, Any], response: Any, status: int = 200) -> dict[str, Any]:
    resp: dict[str, Any] = {"status": status, "reason": "OK", "headers": {}}
    if isinstance(response, list):
        resp["chunks"] = [{"t": 0.01 * (i + 1), "text": c.decode()} for i, c in enumerate(response)]
    else:
        resp["body"] = {"text": response if isinstance(response, str) else json.dumps(response)}
    body = {"text": json.dumps(request)}
    return {"request": {"method": "POST", "url": url, "headers": {}, "body": body},
            "response": resp, "transport": "httpx", "elapsed": 0.5}  # fmt: skip


def _chat_json(model: str = "gpt-4.1-2025-04-14") -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "model": model, "usage": USAGE,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "hi"}}]}  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        "http://10.0.0.5:8000/v1/chat/completions",  # vLLM
        "http://localhost:11434/v1/chat/completions",  # Ollama
        "https://proxy.corp/litellm/openai/v1/chat/completions",  # a proxy's path prefix
        "https://x.openai.azure.com/openai/deployments/prod-41/chat/completions?api-version=1",
    ],
)
def test_chat_completions_on_any_host_or_prefix(url: str) -> None:
    request = {"messages": [{"role": "user", "content": "q"}]}
    if "deployments" not in url:
        request["model"] = "gpt-4.1"
    data = llm_call_of(_item(url, request, _chat_json()))
    assert data is not None
    assert data["operation"] == "chat"
    assert data["request_model"] in ("gpt-4.1", "prod-41")
    assert data["response_model"] == "gpt-4.1-2025-04-14"
    assert (data["usage"]["input_tokens"], data["usage"]["output_tokens"]) == (12, 3)
    assert data["finish_reason"] == "stop"
    assert data["duration_s"] == 0.5
    assert "parse_error" not in data


def test_chat_stream_with_and_without_include_usage() -> None:
    url = "http://h/v1/chat/completions"
    req = {"model": "m", "stream": True, "stream_options": {"include_usage": True},
           "messages": [{"role": "user", "content": "q"}]}  # fmt: skip
    with_usage = llm_call_of(_item(url, req, list(_chat_events("m-1", "answer:q", USAGE))))
    assert with_usage is not None
    assert with_usage["usage"]["output_tokens"] == 3
    assert with_usage["streamed"] is True
    assert with_usage["ttft_s"] == pytest.approx(0.5 - 0.05 + 0.01)  # headers, then chunk one
    assert with_usage["finish_reason"] == "stop"
    del req["stream_options"]
    without = llm_call_of(_item(url, req, list(_chat_events("m-1", "answer:q", None))))
    assert without is not None
    assert without["usage"] is None  # unknown, never a made-up zero
    assert "include_usage" in without["usage_missing"]


def _chunked(url: str, request: dict[str, Any], wire: bytes, size: int) -> dict[str, Any]:
    """An interaction whose stream is ``wire`` read ``size`` bytes at a time, each chunk
    stored as the recorder stores it (text, or base64 where the cut splits a character)."""
    item = _item(url, request, {})
    parts = [wire[i : i + size] for i in range(0, len(wire), size)]
    item["response"].pop("body")
    item["response"]["chunks"] = [
        {"t": 0.01 * (i + 1), **encode_body(part)} for i, part in enumerate(parts)
    ]
    return item


class EchoStream(LlmProvider):
    """A user's provider that reads the events' data (what a stream's text is made of)."""

    name = "echo"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        return "chat" if path.endswith("/echo") else None

    def read(self, operation: str, exchange: Any) -> dict[str, Any]:
        return {"text": "".join(e.data for e in exchange.events)}


def test_a_stream_reads_the_same_however_its_events_fall_into_chunks() -> None:
    """1,000 events with CRLF line ends, all in one chunk (a fast stream read in one go) and
    cut every 7 bytes (a CR and its LF in two chunks): the same call."""
    url = "http://h/v1/chat/completions"
    req = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "q"}]}
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m-1"}
    events = [
        json.dumps({**base, "choices": [{"index": 0, "delta": {"content": f"w{i} "}}]})
        for i in range(1000)
    ]
    events.append(json.dumps({**base, "choices": [], "usage": USAGE}))
    wire = "".join(f"data: {e}\r\n\r\n" for e in events).encode() + b"data: [DONE]\r\n\r\n"
    one = llm_call_of(_chunked(url, req, wire, len(wire)))
    cut = llm_call_of(_chunked(url, req, wire, 7))
    assert one is not None
    assert cut is not None
    assert "parse_error" not in cut
    assert one.pop("ttft_s") == pytest.approx(0.5)  # the first token came with the last
    assert cut.pop("ttft_s") < 0.5  # the first event was whole long before the stream's end
    assert cut == one
    assert one["usage"]["output_tokens"] == 3


def test_a_character_cut_between_two_chunks_reads_whole() -> None:
    wire = "".join(f"data: h\u00e9llo \u2603 {i}\n\n" for i in range(50)).encode()
    remove = register_llm_provider(EchoStream())
    try:
        texts = {llm_call_of(_chunked("http://h/echo", {}, wire, n))["text"] for n in (1, 2, 3, 7)}
    finally:
        remove()
    assert texts == {"".join(f"h\u00e9llo \u2603 {i}" for i in range(50))}


def test_responses_api_streamed_and_not() -> None:
    done = {"object": "response", "model": "gpt-5-2025-08-07", "status": "completed",
            "output": [], "usage": {"input_tokens": 9, "output_tokens": 2,
                                    "input_tokens_details": {"cached_tokens": 4},
                                    "output_tokens_details": {"reasoning_tokens": 1}}}  # fmt: skip
    url, req = "https://api.openai.com/v1/responses", {"model": "gpt-5", "input": "q"}
    for response in (done, list(_responses_events(done, "hi"))):
        data = llm_call_of(_item(url, req, response))
        assert data is not None
        assert data["operation"] == "responses"
        assert data["usage"]["input_tokens"] == 9
        assert data["usage"]["cached_tokens"] == 4
        assert data["usage"]["reasoning_tokens"] == 1
        assert data["response_model"] == "gpt-5-2025-08-07"
        assert "parse_error" not in data


def test_embeddings() -> None:
    body = {"object": "list", "model": "text-embedding-3-small", "data": [],
            "usage": {"prompt_tokens": 4, "total_tokens": 4}}  # fmt: skip
    req = {"model": "text-embedding-3-small", "input": "q"}
    data = llm_call_of(_item("http://h/v1/embeddings", req, body))
    assert data is not None
    assert data["operation"] == "embeddings"
    assert (data["usage"]["input_tokens"], data["usage"]["output_tokens"]) == (4, 0)


def test_anthropic_messages_streamed_usage_from_start_and_delta() -> None:
    url = "https://api.anthropic.com/v1/messages"
    req = {"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True,
           "messages": [{"role": "user", "content": "q"}]}  # fmt: skip
    data = llm_call_of(_item(url, req, list(_anthropic_events("claude-sonnet-4-5-20250929", "x"))))
    assert data is not None
    assert (data["usage"]["input_tokens"], data["usage"]["output_tokens"]) == (7, 5)
    assert data["finish_reason"] == "end_turn"
    assert data["response_model"] == "claude-sonnet-4-5-20250929"
    cached = {
        "type": "message",
        "model": "claude",
        "stop_reason": "end_turn",
        "content": [],
        "usage": {"input_tokens": 3, "cache_read_input_tokens": 10, "output_tokens": 2},
    }
    plain = llm_call_of(_item(url, {**req, "stream": False}, cached))
    assert plain is not None
    assert (plain["usage"]["input_tokens"], plain["usage"]["cached_tokens"]) == (13, 10)


BAD = [
    ("http://h/v1/chat/completions", {"model": "m"}, {"model": "m", "choices": []}, "no usage"),
    ("http://h/v1/chat/completions", {"model": "m"}, "{not json", "not JSON"),
    ("http://h/v1/chat/completions", {"model": "m", "stream": True},
     list(_chat_events("m", "abc", USAGE))[:2], "truncated"),
    ("http://h/v1/messages", {"model": "c", "messages": []},
     [b'event: message_start\ndata: {"type": "message_start", "message": {"model": "c", '
      b'"usage": {"input_tokens": 2}}}\n\n', b'data: {"type": "mystery_event"}\n\n',
      b'event: message_stop\ndata: {"type": "message_stop"}\n\n'], "mystery_event"),
    ("http://h/v1/responses", {"model": "m", "stream": True},
     [b'data: {"type": "response.created", "response": {"model": "m"}}\n\n'], "truncated"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "req", "response", "problem"), BAD)
def test_malformed_llm_responses_give_a_call_with_a_parse_error(
    url, req, response, problem
) -> None:
    data = llm_call_of(_item(url, req, response))
    assert data is not None
    assert problem in data["parse_error"]
    assert data["request_model"] == req["model"]


def test_http_errors_and_unknown_endpoints() -> None:
    refused = llm_call_of(_item("http://h/v1/chat/completions", {"model": "m"},
                                {"error": {"message": "rate limited"}}, status=429))  # fmt: skip
    assert refused is not None
    assert refused["error"] == "HTTP 429: rate limited"
    assert refused["usage"]["input_tokens"] == 0
    assert llm_call_of(_item("http://h/v1/search", {"model": "m"}, {"hits": []})) is None
    threads = {"role": "user", "content": "hi"}  # OpenAI threads' messages: not a model call
    assert llm_call_of(_item("http://h/v1/threads/t1/messages", threads, {"id": "m"})) is None


class CorpGateway(LlmProvider):
    """An in-house model gateway (Vertex-style ``:predict``) that no built-in provider reads."""

    name = "corp"

    def operation(self, method: str, path: str, request: Any) -> str | None:
        return "chat" if path.endswith(":predict") else None

    def read(self, operation: str, exchange: Any) -> dict[str, Any]:
        meta = exchange.body["metadata"]
        return {"response_model": exchange.body["deployedModelId"],
                "usage": {"input_tokens": meta["tokens_in"],
                          "output_tokens": meta["tokens_out"]}}  # fmt: skip


def test_users_extend_the_provider_registry() -> None:
    item = _item("https://ml.corp/v1/endpoints/summarizer:predict", {"instances": []},
                 {"deployedModelId": "sum-7",
                  "metadata": {"tokens_in": 6, "tokens_out": 2}})  # fmt: skip
    assert llm_call_of(item) is None
    remove = register_llm_provider(CorpGateway())
    try:
        data = llm_call_of(item)
    finally:
        remove()
    assert data is not None
    assert (data["provider"], data["usage"]["output_tokens"]) == ("corp", 2)


def _run_with(items: list[dict[str, Any]]) -> Run:
    run = Run(Case("c"), Variant("prod", model="gpt-4.1"))
    for i, item in enumerate(items):
        run.http.append(item)
        run.emit("http", "POST x", {"method": "POST", "index": i, "outcome": "recorded"},
                 t_start=1.0 + i, t_end=1.5 + i)  # fmt: skip
    return run


def test_manual_llm_call_is_not_counted_twice_but_a_local_model_is() -> None:
    run = _run_with([_item("http://h/v1/chat/completions", {"model": "gpt-4.1"}, _chat_json())])
    with activate(run):
        llm_call("gpt-4.1", "gpt-4.1-2025-04-14", USAGE, t_start=0.9)  # the same HTTP call
        llm_call("local-llama", input_tokens=5, output_tokens=1)  # a model HTTP never saw
    run.events[-1].t_start = run.events[-1].t_end = 9.0
    run.events[-2].t_end = 1.6
    metrics = compute_metrics(run)
    assert metrics["llm_calls"] == 2
    assert (metrics["tokens_in"], metrics["tokens_out"]) == (17, 4)
    compute_metrics(run)  # idempotent: derived events are replaced, not added again
    assert len(run.events_of("llm_call")) == 2


def test_old_cassettes_get_derived_calls_and_fresh_metrics_on_load() -> None:
    run = _run_with([_item("http://h/v1/chat/completions", {"model": "gpt-4.1"}, _chat_json())])
    run.finish("ok")
    stored = run.to_dict()
    stored["events"] = [e for e in stored["events"] if e["kind"] != "llm_call"]  # as recorded
    stored["metrics"] = {"tokens_in": 0, "tokens_out": 0, "llm_calls": 0, "http_recorded": 1}
    prices = parse_prices({"gpt-4.1": {"input": 2.0, "output": 8.0}})
    row = metrics_table([{**stored, "role": "baseline"}], prices=prices).iloc[0]
    assert (row["tokens_in"], row["tokens_out"], row["llm_calls"]) == (12, 3, 1)
    assert row["cost"] == pytest.approx((12 * 2 + 3 * 8) / 1e6)
    assert "http_recorded" not in row.index  # bookkeeping: provenance, never a tested metric
    assert row["_http_recorded"] == 1


def test_dated_model_names_price_at_their_base_and_unpriced_is_missing() -> None:
    prices = {"gpt-4.1": 1, "gpt-4.1-mini": 2, "claude-sonnet-4-5": 3}
    assert price_key("gpt-4.1-2025-04-14", prices) == "gpt-4.1"
    assert price_key("gpt-4.1-mini-2025-04-14", prices) == "gpt-4.1-mini"
    assert price_key("claude-sonnet-4-5-20250929", prices) == "claude-sonnet-4-5"
    assert price_key("openai/gpt-4.1", prices) == "gpt-4.1"
    assert price_key("gpt-5", prices) is None
    run = _run_with([_item("http://h/v1/chat/completions", {"model": "o3"}, _chat_json("o3"))])
    run.finish("ok")
    frame = metrics_table(
        [{**run.to_dict(), "role": "baseline"}],
        prices=parse_prices({"gpt-4.1": {"input": 1.0, "output": 1.0}}),
    )
    assert math.isnan(frame.iloc[0]["cost"])
    assert frame.attrs["unpriced_models"] == ["o3"]
