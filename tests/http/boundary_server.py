"""A loopback server for the cassette-boundary tests (issue 14): uploads, transcription, and
responses that carry a credential split across stream chunks."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

from llm_servers import Handler

from pytest_opsladder.http.forms import multipart_parts

LEAK = "sk-proj-" + "Qz8rT2vX9mL4nB7c" * 2


class BoundaryHandler(Handler):
    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/v1/files":
            self._json(_file_object(body))
        elif self.path == "/v1/audio/transcriptions":
            self._json({"text": _heard(body)})
        elif self.path == "/form":
            self._json({"ok": True})
        elif self.path == "/v1/chat/completions":
            self._stream(_french_deltas())
        else:
            self._json({"error": "no such path"}, 404)

    def do_GET(self) -> None:
        if self.path.startswith("/split"):  # one SSE event, the key split across two chunks
            half = len(LEAK) // 2
            self._stream(
                iter([f'data: {{"d": "{LEAK[:half]}'.encode(), f'{LEAK[half:]}"}}\n\n'.encode()])
            )
        else:  # never echoes the query: what the client sent stays on the client
            self._json({"params": self.path.count("=")})


def _french_deltas() -> Iterator[bytes]:
    """A chat completion streamed as Python's json.dumps writes it (non-ASCII as \\u escapes),
    its reply quoting the key across two deltas, each event its own chunk."""
    texts = ["Voil\u00e0 la cl\u00e9 : " + LEAK[:14], LEAK[14:], " (\u00e0 garder)"]
    for i, text in enumerate(texts):
        event = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": text},
                    "finish_reason": "stop" if i == 2 else None,
                }
            ],
        }
        yield f"data: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _parts(body: bytes) -> dict[str, Any]:
    return {p["name"]: p for p in multipart_parts(body) or []}


def _file_object(body: bytes) -> dict[str, Any]:
    parts = _parts(body)
    content = parts["file"]["content"]
    return {
        "id": "file-" + hashlib.sha256(content.encode()).hexdigest()[:12],
        "object": "file",
        "bytes": len(content),
        "created_at": 1700000000,
        "filename": parts["file"]["filename"],
        "purpose": parts["purpose"]["content"],
        "status": "processed",
    }


def _heard(body: bytes) -> str:
    parts = _parts(body)
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:10]
    return f"heard {parts['file']['filename']} ({parts['model']['content']}) {digest}"


class BoundaryServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), BoundaryHandler)
        self.hits: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> BoundaryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
