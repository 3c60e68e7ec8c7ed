"""Loopback HTTP servers for the schedule tests: a webhook that records, one that hangs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Hook(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hang: threading.Event | None = None, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict[str, Any]] = []
        self.hang = hang
        self.status = status

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.hang is not None:
            self.server.hang.wait(30)  # "answers after 30 s" (released at teardown)
        self.server.received.append({"path": self.path, "json": json.loads(body or b"{}")})
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(server: Hook) -> Iterator[Hook]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if server.hang is not None:
            server.hang.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def webhook() -> Iterator[Hook]:
    """A loopback endpoint that records every JSON POST."""
    yield from _serve(Hook())


@pytest.fixture
def failing_webhook() -> Iterator[Hook]:
    """A loopback endpoint that takes every POST and answers 500 Internal Server Error."""
    yield from _serve(Hook(status=500))


@pytest.fixture
def slow_endpoint() -> Iterator[Hook]:
    """A loopback endpoint that accepts the connection and answers only after 30 s."""
    yield from _serve(Hook(hang=threading.Event()))


@pytest.fixture
def down_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:  # bound, then closed: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
