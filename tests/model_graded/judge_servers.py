"""A loopback judge server speaking the OpenAI chat-completions and Anthropic messages formats.

It grades with the demo's deterministic judge (pytest_opsladder.demo.judge_model). ``mode``
makes it misbehave for the bad-input tests: ``garbage`` (not JSON), ``out_of_range`` (score 9),
``no_score`` (JSON without a score), ``nan_score`` / ``huge_score`` / ``minus_infinity`` (a
score Python's JSON reads as NaN or infinity), ``nan_usage`` (a good verdict, token counts NaN).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_opsladder.demo.judge_model import grade, judge_completion

BAD_CONTENT = {
    "garbage": "I think it is fine, mostly.",
    "out_of_range": json.dumps({"score": 9, "reason": "excellent"}),
    "no_score": json.dumps({"verdict": "good"}),
    "nan_score": '{"score": NaN, "reason": "unsure"}',
    "huge_score": '{"score": 1e400, "reason": "superb"}',
    "minus_infinity": '{"score": -Infinity, "reason": "awful"}',
}


class _Handler(BaseHTTPRequestHandler):
    server: JudgeServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        self.server.requests += 1
        if self.path.rstrip("/").endswith("/messages"):
            self._json(self._anthropic(body))
            return
        completion = judge_completion(body, 1_767_225_600, "-2026-01-15")
        if self.server.mode in BAD_CONTENT:
            completion["choices"][0]["message"]["content"] = BAD_CONTENT[self.server.mode]
        if self.server.mode == "nan_usage":  # json.dumps writes NaN and Infinity as such
            completion["usage"] |= {"prompt_tokens": float("nan"), "completion_tokens": 1e400}
        self._json(completion)

    def _anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        user = "\n".join(str(m.get("content")) for m in body["messages"] if m["role"] == "user")
        return {
            "id": "msg_judge",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": json.dumps(grade(user))}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 40, "output_tokens": 12},
        }

    def _json(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class JudgeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str = "ok", port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.mode = mode
        self.requests = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._connections: list[socket.socket] = []

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        self._connections.append(conn)  # kept-alive ones are closed by stop(), as a crash would
        return conn, address

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> JudgeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)
