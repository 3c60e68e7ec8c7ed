"""Gemini, Bedrock, Ollama and Cohere calls read from stored interactions: each API's edges
(counts protobuf leaves out, a prompt from Ollama's cache, Cohere's billed units), and bad
input: a truncated stream or event stream is a call with a ``parse_error``, never a crash, and
a usage that cannot be read is missing (None), never 0."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from more_wire_server import frame, sse

from pytest_opsladder.http.llm_providers import llm_call_of

GEMINI = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"
VERTEX = (
    "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
    "publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
)
BEDROCK = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0"


def _item(url: str, request: Any, body: Any = None, chunks: list[bytes] | None = None,
          raw: bytes | None = None, status: int = 200) -> dict[str, Any]:  # fmt: skip
    resp: dict[str, Any] = {"status": status, "reason": "OK", "headers": {}}
    if chunks is not None:
        resp["chunks"] = [{"t": 0.01 * (i + 1), "text": c.decode()} for i, c in enumerate(chunks)]
    elif raw is not None:
        resp["body"] = {"base64": base64.b64encode(raw).decode()}
    else:
        resp["body"] = {"text": body if isinstance(body, str) else json.dumps(body)}
    return {"request": {"method": "POST", "url": url, "headers": {},
                        "body": {"text": json.dumps(request)}},
            "response": resp, "transport": "httpx", "elapsed": 0.5}  # fmt: skip


def _tokens(data: dict[str, Any] | None) -> tuple[Any, Any]:
    assert data is not None
    usage = data["usage"]
    return (usage["input_tokens"], usage["output_tokens"]) if usage else (None, None)


GEMINI_REQUEST = {"contents": [{"role": "user", "parts": [{"text": "q"}]}]}


def test_gemini_usage_counts_left_out_are_zero_and_thinking_is_output() -> None:
    body = {"candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 30, "thoughtsTokenCount": 12,
                              "cachedContentTokenCount": 20, "totalTokenCount": 42},
            "modelVersion": "gemini-2.5-pro-002"}  # fmt: skip
    data = llm_call_of(_item(GEMINI, GEMINI_REQUEST, body))
    assert data is not None
    assert data["provider"] == "gemini"
    assert _tokens(data) == (30, 12)  # no candidatesTokenCount: 0 candidates, 12 thinking
    assert data["usage"]["reasoning_tokens"] == 12
    assert data["usage"]["cached_tokens"] == 20
    assert (data["request_model"], data["model"]) == ("gemini-2.5-pro", "gemini-2.5-pro-002")
    assert "parse_error" not in data


def test_gemini_blocked_prompt_and_missing_usage() -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}}
    data = llm_call_of(_item(GEMINI, GEMINI_REQUEST, body))
    assert data is not None
    assert data["finish_reason"] == "blocked: SAFETY"
    assert data["usage"] is None
    assert "usageMetadata" in data["parse_error"]


def test_vertex_stream_truncated_before_its_finish_reason_keeps_the_usage_so_far() -> None:
    first = {"candidates": [{"content": {"parts": [{"text": "a"}]}}],
             "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1}}  # fmt: skip
    data = llm_call_of(_item(VERTEX, GEMINI_REQUEST, chunks=[sse(first)]))
    assert data is not None
    assert data["streamed"]
    assert data["request_model"] == "gemini-2.5-flash"
    assert _tokens(data) == (5, 1)
    assert "truncated" in data["parse_error"]
    assert data["ttft_s"] is not None


def test_gemini_count_tokens_and_embeddings_are_not_calls() -> None:
    for op in ("countTokens", "embedContent", "batchEmbedContents"):
        url = GEMINI.replace("generateContent", op)
        assert llm_call_of(_item(url, GEMINI_REQUEST, {"totalTokens": 3})) is None


CONVERSE = {"messages": [{"role": "user", "content": [{"text": "q"}]}]}


def test_bedrock_converse_counts_cached_input_and_names_the_model_id() -> None:
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "a"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 4, "cacheReadInputTokens": 100,
                      "cacheWriteInputTokens": 5}}  # fmt: skip
    data = llm_call_of(_item(BEDROCK + "/converse", CONVERSE, body))
    assert data is not None
    assert data["provider"] == "bedrock"
    assert data["model"] == "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert _tokens(data) == (115, 4)
    assert data["usage"]["cached_tokens"] == 100


def test_bedrock_event_stream_cut_inside_a_frame_is_a_parse_error_not_a_crash() -> None:
    frames = frame("messageStart", {"role": "assistant"}) + frame("messageStop", {})
    cut = frames + frame("metadata", {"usage": {"inputTokens": 1, "outputTokens": 1}})[:20]
    data = llm_call_of(_item(BEDROCK + "/converse-stream", CONVERSE, raw=cut))
    assert data is not None
    assert data["usage"] is None
    assert "truncated" in data["parse_error"]
    assert "no metadata usage" in data["parse_error"]


def test_bedrock_event_stream_exception_frame_is_reported() -> None:
    raw = frame("messageStart", {"role": "assistant"})
    raw += frame("throttlingException", {"message": "slow down"}, "exception")
    data = llm_call_of(_item(BEDROCK + "/converse-stream", CONVERSE, raw=raw))
    assert data is not None
    assert data["usage"] is None
    assert "exception: throttlingException" in data["parse_error"]


def test_bedrock_invoke_stream_reads_the_anthropic_events_in_its_chunks() -> None:
    events = [
        {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 9,
                                                                           "output_tokens": 1}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
         "usage": {"output_tokens": 7}},
        {"type": "message_stop"},
    ]  # fmt: skip
    raw = b"".join(
        frame("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}) for e in events
    )
    request = {"anthropic_version": "bedrock-2023-05-31", "messages": [], "max_tokens": 9}
    data = llm_call_of(_item(BEDROCK + "/invoke-with-response-stream", request, raw=raw))
    assert data is not None
    assert _tokens(data) == (9, 7)
    assert data["finish_reason"] == "end_turn"
    assert "parse_error" not in data


def test_bedrock_invoke_of_another_model_family_is_not_read() -> None:
    request = {"inputText": "q", "textGenerationConfig": {}}  # Titan's own body
    assert llm_call_of(_item(BEDROCK + "/invoke", request, {"results": []})) is None


OLLAMA = "http://localhost:11434/api/chat"
OLLAMA_REQUEST = {"model": "qwen3:8b", "messages": [{"role": "user", "content": "q"}]}


def _ndjson(*lines: dict[str, Any]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def test_ollama_stream_reads_the_done_line() -> None:
    body = _ndjson({"model": "qwen3:8b", "message": {"content": "a"}, "done": False},
                   {"model": "qwen3:8b", "done": True, "done_reason": "stop",
                    "prompt_eval_count": 26, "eval_count": 8})  # fmt: skip
    data = llm_call_of(_item(OLLAMA, OLLAMA_REQUEST, body))
    assert data is not None
    assert data["provider"] == "ollama"
    assert _tokens(data) == (26, 8)
    assert data["model"] == "qwen3:8b"
    assert "parse_error" not in data


def test_ollama_prompt_from_its_cache_leaves_the_input_missing_not_zero() -> None:
    body = {"model": "qwen3:8b", "done": True, "done_reason": "stop", "eval_count": 8}
    data = llm_call_of(_item(OLLAMA, OLLAMA_REQUEST, body))
    assert _tokens(data) == (None, 8)
    assert data is not None
    assert "cache" in data["parse_error"]


@pytest.mark.parametrize(
    "body",
    [
        _ndjson({"model": "qwen3:8b", "message": {"content": "a"}, "done": False}),
        _ndjson({"model": "qwen3:8b", "done": False}) + '{"model": "qw',
        _ndjson({"error": "model 'qwen3:8b' not found"}),
        "",
    ],
    ids=["no-done-line", "cut-mid-line", "error-line", "empty"],
)
def test_ollama_bad_streams_are_parse_errors_with_usage_missing(body: str) -> None:
    data = llm_call_of(_item(OLLAMA, OLLAMA_REQUEST, body))
    assert data is not None
    assert data["usage"] is None
    assert data["parse_error"]


def test_ollama_openai_compatible_endpoint_stays_openai() -> None:
    url = "http://localhost:11434/v1/chat/completions"
    body = {"model": "qwen3:8b", "choices": [], "usage": {"prompt_tokens": 3,
                                                          "completion_tokens": 1}}  # fmt: skip
    data = llm_call_of(_item(url, OLLAMA_REQUEST, body))
    assert data is not None
    assert data["provider"] == "openai"


COHERE = "https://api.cohere.com/v2/chat"
COHERE_REQUEST = {"model": "command-a-03-2025", "messages": [{"role": "user", "content": "q"}]}


def test_cohere_billed_units_when_the_tokens_are_absent() -> None:
    body = {"finish_reason": "COMPLETE",
            "usage": {"billed_units": {"input_tokens": 8, "output_tokens": 2}}}  # fmt: skip
    data = llm_call_of(_item(COHERE, COHERE_REQUEST, body))
    assert data is not None
    assert data["provider"] == "cohere"
    assert _tokens(data) == (8, 2)


def test_cohere_stream_without_message_end_is_truncated() -> None:
    chunks = [sse({"type": "message-start", "id": "c"}, "message-start"),
              sse({"type": "content-delta", "delta": {"message": {"content": {"text": "a"}}}},
                  "content-delta")]  # fmt: skip
    data = llm_call_of(_item(COHERE, {**COHERE_REQUEST, "stream": True}, chunks=chunks))
    assert data is not None
    assert data["usage"] is None
    assert "truncated" in data["parse_error"]


def test_cohere_embed_bills_its_input() -> None:
    url = "https://api.cohere.com/v2/embed"
    request = {"model": "embed-v4.0", "texts": ["q"], "input_type": "search_query"}
    body = {"embeddings": {"float": [[0.1]]}, "meta": {"billed_units": {"input_tokens": 4}}}
    assert _tokens(llm_call_of(_item(url, request, body))) == (4, 0)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (GEMINI, {"error": {"code": 429, "message": "Resource exhausted"}}),
        (BEDROCK + "/converse", {"message": "Too many requests"}),
        (COHERE, {"message": "invalid api token"}),
        (OLLAMA, {"error": "model not found"}),
    ],
)
def test_refused_calls_say_why_and_consumed_nothing(url: str, body: dict[str, Any]) -> None:
    request = GEMINI_REQUEST if "generativelanguage" in url else {**COHERE_REQUEST, **CONVERSE}
    data = llm_call_of(_item(url, request, body, status=429))
    assert data is not None
    assert _tokens(data) == (0, 0)
    assert data["error"].startswith("HTTP 429: ")
    assert "no message" not in data["error"]


VERTEX_CLAUDE = (
    "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/publishers/"
    "anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
)


def test_claude_on_vertex_is_read_as_anthropic_with_the_model_of_the_url() -> None:
    events = [
        sse({"type": "message_start", "message": {"model": "claude-sonnet-4-5-20250929",
                                                  "usage": {"input_tokens": 4}}}, "message_start"),
        sse({"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": "a"}}, "content_block_delta"),
        sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
             "usage": {"output_tokens": 2}}, "message_delta"),
        sse({"type": "message_stop"}, "message_stop"),
    ]  # fmt: skip
    request = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 9, "stream": True,
               "messages": [{"role": "user", "content": "q"}]}  # fmt: skip
    data = llm_call_of(_item(VERTEX_CLAUDE, request, chunks=events))
    assert data is not None
    assert data["provider"] == "anthropic"
    assert data["request_model"] == "claude-sonnet-4-5@20250929"
    assert _tokens(data) == (4, 2)
    assert "parse_error" not in data


def test_a_stream_stored_as_one_body_is_read_as_its_events_with_no_first_token_time() -> None:
    """aiohttp stores a stream that arrived at once as a body: an OpenAI chat stream over
    aiohttp (LiteLLM's async path) had no usage before; its time to first token is unknown."""
    events = [
        {"model": "gpt-4.1", "choices": [{"index": 0, "delta": {"content": "a"}}]},
        {"model": "gpt-4.1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"model": "gpt-4.1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    request = {"model": "gpt-4.1", "stream": True, "messages": []}
    item = _item("http://h/v1/chat/completions", request, body)
    item["response"]["headers"] = {"Content-Type": ["text/event-stream; charset=utf-8"]}
    data = llm_call_of(item)
    assert data is not None
    assert data["streamed"]
    assert _tokens(data) == (9, 1)
    assert data["finish_reason"] == "stop"
    assert "ttft_s" not in data
    assert "parse_error" not in data


def test_cohere_output_tokens_left_out_are_missing_not_zero() -> None:
    body = {"finish_reason": "COMPLETE", "usage": {"tokens": {"input_tokens": 8}}}
    assert _tokens(llm_call_of(_item(COHERE, COHERE_REQUEST, body))) == (8, None)
