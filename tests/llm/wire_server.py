"""A loopback server speaking the OpenAI (chat, Responses, embeddings) and Anthropic wire
formats under any path prefix, for the tests of issue 12.

The answer is ``answer:<last user text>``; a model whose name contains ``broken`` answers
``wrong:<text>`` when the text ends in a digit 0 to 3 (``q0``, ``q13``, ...), i.e. for 40% of
cases numbered 0-39. Usage is reported the way each API does; SSE events are flushed one per
HTTP chunk.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def answer(model: str, text: str) -> str:
    if "broken" in model and text[-1:] in ("0", "1", "2", "3"):
        return f"wrong:{text}"
    return f"answer:{text}"


def _last_text(body: dict[str, Any]) -> str:
    if "input" in body:  # Responses API
        raw = body["input"]
        return raw if isinstance(raw, str) else str(raw[-1].get("content"))
    content = body.get("messages", [{}])[-1].get("content", "")
    return content if isinstance(content, str) else str(content[0].get("text"))


def sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(obj) + "\n\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WireServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _json(self, obj: Any, status: int = 200) -> None:
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, events: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        path = self.path.split("?")[0]
        self.server.hits.append(path)
        model = str(body.get("model", "m"))
        if path.endswith("/embeddings"):
            self._json({"object": "list", "model": model,
                        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                        "usage": {"prompt_tokens": 4, "total_tokens": 4}})  # fmt: skip
            return
        text = answer(model, _last_text(body))
        if path.endswith("/chat/completions"):
            self._chat(body, model, text)
        elif path.endswith("/responses"):
            self._responses(body, model, text)
        elif path.endswith("/messages"):
            self._anthropic(body, model, text)
        else:
            self._json({"error": {"message": f"no route {path}"}}, 404)

    def _chat(self, body: dict[str, Any], model: str, text: str) -> None:
        usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
        if not body.get("stream"):
            self._json({"id": "c1", "object": "chat.completion", "created": 1, "model": model,
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": text}}],
                        "usage": usage})  # fmt: skip
            return
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        self._stream(_chat_events(model, text, usage if with_usage else None))

    def _responses(self, body: dict[str, Any], model: str, text: str) -> None:
        done = {"id": "r1", "object": "response", "created_at": 1, "model": model,
                "status": "completed", "output": [{"type": "message", "id": "m1",
                "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11,
                          "input_tokens_details": {"cached_tokens": 4},
                          "output_tokens_details": {"reasoning_tokens": 0}}}  # fmt: skip
        if not body.get("stream"):
            self._json(done)
            return
        self._stream(_responses_events(done, text))

    def _anthropic(self, body: dict[str, Any], model: str, text: str) -> None:
        if not body.get("stream"):
            self._json({"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": 7, "output_tokens": 5}})  # fmt: skip
            return
        self._stream(_anthropic_events(model, text))


def _chat_events(model: str, text: str, usage: dict[str, Any] | None) -> Iterator[bytes]:
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": model}
    for i, part in enumerate((text[:4], text[4:])):
        delta = {"role": "assistant", "content": part} if i == 0 else {"content": part}
        yield sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    yield sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        yield sse({**base, "choices": [], "usage": usage})
    yield b"data: [DONE]\n\n"


def _responses_events(done: dict[str, Any], text: str) -> Iterator[bytes]:
    created = {**done, "status": "in_progress", "output": [], "usage": None}
    item = {"type": "message", "id": "m1", "role": "assistant", "status": "in_progress",
            "content": []}  # fmt: skip
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "m1", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": created},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **where, "part": part},
        {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []},
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": {**part, "text": text}},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": (done["output"] or [item])[0],
        },
        {"type": "response.completed", "response": done},
    ]
    for seq, event in enumerate(events):
        yield sse({**event, "sequence_number": seq}, event["type"])


def _anthropic_events(model: str, text: str) -> Iterator[bytes]:
    start = {"id": "msg_s", "type": "message", "role": "assistant", "model": model,
             "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {"input_tokens": 7, "output_tokens": 1}}  # fmt: skip
    yield sse({"type": "message_start", "message": start}, "message_start")
    yield sse({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}, "content_block_start")  # fmt: skip
    yield sse({"type": "content_block_delta", "index": 0,
               "delta": {"type": "text_delta", "text": text}}, "content_block_delta")  # fmt: skip
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield sse({"type": "message_delta", "delta": {"stop_reason": "end_turn",
               "stop_sequence": None}, "usage": {"output_tokens": 5}},
              "message_delta")  # fmt: skip
    yield sse({"type": "message_stop"}, "message_stop")


class WireServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), handler or Handler)
        self.hits: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> WireServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
