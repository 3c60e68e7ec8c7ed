"""Loopback servers that speak the OpenAI and Anthropic wire formats, for recording tests.

Deterministic: the answer is derived from the request, so a replay can be compared with the
recording. Each SSE event is written and flushed as its own HTTP chunk. Extra endpoints serve
the bad inputs of issue 3 (compressed, binary, huge, non-UTF-8, malformed SSE, dropped stream).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli


def _words(messages: list[dict[str, Any]]) -> list[str]:
    text = json.dumps(messages, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return [f"w{digest[i : i + 4]}" for i in range(0, 24, 4)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LLMServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _stream(self, events: Iterator[bytes], drop_after: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, event in enumerate(events):
            if drop_after is not None and i == drop_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        routes = {
            "/gzip": lambda: self._send(
                200,
                gzip.compress(b'{"packed": "gzip"}'),
                "application/json",
                {"Content-Encoding": "gzip"},
            ),
            "/brotli": lambda: self._send(
                200,
                brotli.compress(b'{"packed": "br"}'),
                "application/json",
                {"Content-Encoding": "br"},
            ),
            "/binary": lambda: self._send(200, bytes(range(256)) * 4, "application/octet-stream"),
            "/big": lambda: self._send(200, b"x" * (10 * 1024 * 1024), "text/plain"),
            "/latin1": lambda: self._send(200, "café olé".encode("latin-1"), "text/plain"),
            "/notjson": lambda: self._send(200, b"<html>oops</html>", "application/json"),
            "/badsse": lambda: self._stream(iter(BAD_SSE)),
            "/echo-key": lambda: self._json({"leaked": "sk-proj-" + "A1b2C3d4" * 4}),
            "/deep": lambda: self._send(200, _deep(self.path), "application/json"),
        }
        route = routes.get(self.path.split("?")[0])
        if route is None:
            self._json({"path": self.path.split("?")[0], "n": len(self.server.hits)})
        else:
            route()

    def do_POST(self) -> None:
        raw = self._body()
        self.server.hits.append(self.path)
        try:
            body = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            self._send(400, b"request body is not JSON: " + raw[:40], "text/plain")
            return
        if self.path.endswith("/chat/completions"):
            self._openai(body)
        elif self.path.endswith("/messages"):
            self._anthropic(body)
        elif self.path.startswith("/drop"):
            self._stream(_openai_events(_words([{"drop": 1}]), "m"), drop_after=3)
        else:
            self._json({"echo": body, "path": self.path})

    def _openai(self, body: dict[str, Any]) -> None:
        words = _words(body.get("messages", []))
        if body.get("stream"):
            self._stream(_openai_events(words, body.get("model", "m")))
            return
        self._json(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": body.get("model", "m"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": " ".join(words)},
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": len(words), "total_tokens": 11},
            }
        )

    def _anthropic(self, body: dict[str, Any]) -> None:
        words = _words(body.get("messages", []))
        if body.get("stream"):
            self._stream(_anthropic_events(words, body.get("model", "claude")))
            return
        self._json(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [{"type": "text", "text": " ".join(words)}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": len(words)},
            }
        )


BAD_SSE = [b"data: {not json\n\n", b"garbage\n", b"data: [DONE]\n\n"]


def _sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(obj) + "\n\n").encode()


def _openai_events(words: list[str], model: str) -> Iterator[bytes]:
    for i, word in enumerate(words):
        delta = {"role": "assistant", "content": word + " "} if i == 0 else {"content": word + " "}
        yield _sse(
            {
                "id": "chatcmpl-s",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
        )
    yield _sse(
        {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
    )
    yield b"data: [DONE]\n\n"


def _anthropic_events(words: list[str], model: str) -> Iterator[bytes]:
    yield _sse(
        {
            "type": "message_start",
            "message": {
                "id": "msg_s",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        "message_start",
    )
    yield _sse(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        "content_block_start",
    )
    for word in words:
        yield _sse(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word + " "},
            },
            "content_block_delta",
        )
    yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield _sse(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(words)},
        },
        "message_delta",
    )
    yield _sse({"type": "message_stop"}, "message_stop")


class LLMServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> LLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)


def _deep(path: str) -> bytes:
    """JSON nested as deep as ``?depth=N`` asks: past what orjson (1,024) and the recursion
    limit read."""
    depth = int(path.partition("depth=")[2] or 3000)
    return b'{"a":' * depth + b"1" + b"}" * depth
