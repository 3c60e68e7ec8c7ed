"""A loopback server speaking the Gemini, Bedrock Runtime, Ollama and Cohere v2 wire formats
and Claude on Vertex AI, as their real SDKs (google-genai, boto3, ollama, cohere, anthropic's
AnthropicVertex) expect them.

The answer is ``answer:<last user text>``. Usage is reported the way each API does; SSE events
are flushed one per HTTP chunk, Ollama streams NDJSON lines, Bedrock streams AWS event-stream
frames (with their CRCs, which botocore checks).
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from wire_server import WireServer

# (tokens in, tokens out) each endpoint reports, as each API spells them
GEMINI_USAGE = {"promptTokenCount": 7, "candidatesTokenCount": 3, "thoughtsTokenCount": 2,
                "totalTokenCount": 12}  # fmt: skip
BEDROCK_USAGE = {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}
ANTHROPIC_USAGE = {"input_tokens": 11, "output_tokens": 5}
OLLAMA_COUNTS = {"prompt_eval_count": 12, "eval_count": 6}
COHERE_USAGE = {"billed_units": {"input_tokens": 8, "output_tokens": 2},
                "tokens": {"input_tokens": 70, "output_tokens": 2}}  # fmt: skip


def _text_of(body: dict[str, Any]) -> str:
    if "contents" in body:  # Gemini
        return str(body["contents"][-1]["parts"][0]["text"])
    if "prompt" in body:  # Ollama generate
        return str(body["prompt"])
    content = body.get("messages", [{}])[-1].get("content", "")
    if isinstance(content, list):
        return str(content[0].get("text"))
    return str(content)


def sse(obj: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return (head + "data: " + json.dumps(obj) + "\n\n").encode()


def frame(event_type: str, payload: Any, message_type: str = "event") -> bytes:
    """One AWS event-stream frame: prelude, its CRC, string headers, JSON payload, CRC."""
    headers = b""
    kind = ":event-type" if message_type == "event" else ":exception-type"
    for name, value in ((kind, event_type), (":content-type", "application/json"),
                        (":message-type", message_type)):  # fmt: skip
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MoreWireServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj: Any) -> None:
        self._send(json.dumps(obj).encode(), "application/json")

    def _chunked(self, parts: Iterator[bytes], ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in parts:
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        path = unquote(self.path.split("?")[0])
        self.server.hits.append(path)
        text = f"answer:{_text_of(body)}"
        for suffix, reply in _ROUTES:
            if path.endswith(suffix):
                return reply(self, path, body, text)
        self.send_error(404)


def _gemini(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    model = path.rsplit("/", 1)[1].split(":")[0]
    done = {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": GEMINI_USAGE, "modelVersion": model}  # fmt: skip
    h._json(done)


def _gemini_stream(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    model = path.rsplit("/", 1)[1].split(":")[0]
    first = {"candidates": [{"content": {"parts": [{"text": text[:4]}], "role": "model"},
                             "index": 0}],
             "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
             "modelVersion": model}  # fmt: skip
    last = {"candidates": [{"content": {"parts": [{"text": text[4:]}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": GEMINI_USAGE, "modelVersion": model}  # fmt: skip
    h._chunked(iter([sse(first), sse(last)]), "text/event-stream")


def _converse(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    h._json({"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
             "stopReason": "end_turn", "usage": BEDROCK_USAGE,
             "metrics": {"latencyMs": 5}})  # fmt: skip


def _converse_stream(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    frames = [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame("messageStop", {"stopReason": "end_turn"}),
        frame("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 5}}),
    ]
    h._chunked(iter(frames), "application/vnd.amazon.eventstream")


def _invoke(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    model = "claude-3-haiku-20240307"
    if path.endswith(":rawPredict"):  # Vertex answers with the URL's model, dated
        model = path.rsplit("/", 1)[1].split(":")[0].replace("@", "-")
    h._json({"id": "msg_1", "type": "message", "role": "assistant",
             "model": model, "content": [{"type": "text", "text": text}],
             "stop_reason": "end_turn", "stop_sequence": None,
             "usage": ANTHROPIC_USAGE})  # fmt: skip


def _ollama(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    key = "response" if path.endswith("/generate") else "message"
    value: Any = text if key == "response" else {"role": "assistant", "content": text}
    done = {"model": body["model"], "created_at": "2026-01-01T00:00:00Z", key: value,
            "done": True, "done_reason": "stop", "total_duration": 1, "load_duration": 1,
            "prompt_eval_duration": 1, "eval_duration": 1, **OLLAMA_COUNTS}  # fmt: skip
    if body.get("stream", True) is False:
        return h._json(done)

    def part(piece: str) -> Any:
        return piece if key == "response" else {"role": "assistant", "content": piece}

    lines = [{"model": body["model"], "created_at": "2026-01-01T00:00:00Z", key: part(piece),
              "done": False} for piece in (text[:4], text[4:])]  # fmt: skip
    lines.append({**done, key: part("")})
    h._chunked(iter(json.dumps(line).encode() + b"\n" for line in lines), "application/x-ndjson")


def _cohere(h: Handler, path: str, body: dict[str, Any], text: str) -> None:
    message = {"role": "assistant", "content": [{"type": "text", "text": text}]}
    if not body.get("stream"):
        return h._json({"id": "c1", "finish_reason": "COMPLETE", "message": message,
                        "usage": COHERE_USAGE})  # fmt: skip
    events = [
        sse({"type": "message-start", "id": "c1",
             "delta": {"message": {"role": "assistant", "content": []}}}, "message-start"),
        sse({"type": "content-start", "index": 0,
             "delta": {"message": {"content": {"type": "text", "text": ""}}}}, "content-start"),
        sse({"type": "content-delta", "index": 0,
             "delta": {"message": {"content": {"text": text}}}}, "content-delta"),
        sse({"type": "content-end", "index": 0}, "content-end"),
        sse({"type": "message-end", "id": "c1",
             "delta": {"finish_reason": "COMPLETE", "usage": COHERE_USAGE}}, "message-end"),
    ]  # fmt: skip
    h._chunked(iter(events), "text/event-stream")


_ROUTES = (
    (":generateContent", _gemini),
    (":streamGenerateContent", _gemini_stream),
    ("/converse", _converse),
    ("/converse-stream", _converse_stream),
    ("/invoke", _invoke),
    (":rawPredict", _invoke),  # Claude on Vertex AI answers as the Messages API does
    ("/api/chat", _ollama),
    ("/api/generate", _ollama),
    ("/v2/chat", _cohere),
)


class MoreWireServer(WireServer):
    """The OpenAI/Anthropic wire server's loopback server and thread, with these formats."""

    def __init__(self) -> None:
        super().__init__(Handler)
