"""An OpenAI-compatible chat-completions endpoint on loopback, serving the demo model.

``POST /v1/chat/completions`` with tools (the ``propose_post`` function), streaming (SSE chunks
in OpenAI's format, tool-call arguments split across chunks) and non-streaming. Responses are
deterministic for a given request: ids and timestamps derive from the request, not the clock.
``latency_s`` (plus ``latency_per_token_s`` per completion token) simulates a remote model.

    with serve_model(latency_s=0.05) as base_url:     # "http://127.0.0.1:PORT/v1"
        client = openai.OpenAI(base_url=base_url, api_key="demo")
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_opsladder.demo.judge_model import judge_completion
from pytest_opsladder.demo.model import count_tokens, write_post

CREATED = 1_767_225_600  # fixed: recordings of the same request are byte-identical
RESPONSE_MODEL_SUFFIX = "-2026-01-15"


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def complete(body: dict[str, Any]) -> dict[str, Any]:
    """The chat.completion object for a request body (the demo judge for ``demo-judge*``)."""
    if str(body.get("model", "")).startswith("demo-judge"):
        return judge_completion(body, CREATED, RESPONSE_MODEL_SUFFIX)
    messages = body.get("messages") or []
    system = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    post = write_post(user, system, int(body.get("seed") or 0))
    arguments = json.dumps(post, ensure_ascii=False)
    digest = _digest(body)
    message = _message(body, arguments, post, digest)
    prompt_tokens = count_tokens(system + user)
    completion_tokens = count_tokens(arguments)
    return {
        "id": f"chatcmpl-{digest[:24]}",
        "object": "chat.completion",
        "created": CREATED,
        "model": f"{body.get('model', 'demo')}{RESPONSE_MODEL_SUFFIX}",
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(body)}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _finish(body: dict[str, Any]) -> str:
    return "tool_calls" if body.get("tools") else "stop"


def _message(
    body: dict[str, Any], arguments: str, post: dict[str, Any], digest: str
) -> dict[str, Any]:
    if not body.get("tools"):
        return {"role": "assistant", "content": post["summary"]}
    call = {
        "id": f"call_{digest[24:40]}",
        "type": "function",
        "function": {"name": "propose_post", "arguments": arguments},
    }
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def stream_chunks(completion: dict[str, Any], pieces: int = 4) -> Iterator[dict[str, Any]]:
    """The completion as chat.completion.chunk objects (arguments split in ``pieces``)."""
    base = {k: completion[k] for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"
    choice = completion["choices"][0]
    message = choice["message"]
    yield {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    for delta in _deltas(message, pieces):
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}]}
    yield {**base, "choices": [], "usage": completion["usage"]}


def _deltas(message: dict[str, Any], pieces: int) -> Iterator[dict[str, Any]]:
    if not message.get("tool_calls"):
        text = message["content"] or ""
        for part in _split(text, pieces):
            yield {"content": part}
        return
    call = message["tool_calls"][0]
    head = {"index": 0, "id": call["id"], "type": "function"}
    yield {
        "tool_calls": [{**head, "function": {"name": call["function"]["name"], "arguments": ""}}]
    }
    for part in _split(call["function"]["arguments"], pieces):
        yield {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}


def _split(text: str, pieces: int) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Handler(BaseHTTPRequestHandler):
    server: _ModelServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's delayed
    # ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stdout
        return

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        except ValueError as exc:
            self._json(400, {"error": {"message": f"invalid JSON: {exc}", "type": "bad_request"}})
            return
        self.server.requests += 1
        completion = complete(body)
        time.sleep(self.server.delay(completion))
        if body.get("stream"):
            self._stream(completion)
        else:
            self._json(200, completion)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, completion: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for chunk in stream_chunks(completion):
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class _ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, latency_s: float, latency_per_token_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = latency_s
        self.latency_per_token_s = latency_per_token_s
        self.requests = 0

    def delay(self, completion: dict[str, Any]) -> float:
        tokens = int(completion["usage"]["completion_tokens"])
        return self.latency_s + self.latency_per_token_s * tokens


@contextmanager
def serve_model(latency_s: float = 0.0, latency_per_token_s: float = 0.0) -> Iterator[str]:
    """Serve the demo model on a free loopback port; yields the OpenAI ``base_url``."""
    server = _ModelServer(latency_s, latency_per_token_s)
    thread = threading.Thread(target=server.serve_forever, name="opsladder-demo-model", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
