"""Production capture() of an agent whose HTTP response holds a credential: the run store keeps
the run with the credential masked; the agent is never failed for it (ladder level 7)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_opsladder.capture.production import capture
from pytest_opsladder.store.index import iter_index

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"


class _KeyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"key": KEY}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[str]:
    """A loopback API whose JSON response carries an API key (a key-issuing endpoint)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_credential_in_a_response_is_masked_in_the_store_and_the_agent_goes_on(
    tmp_path: Path, key_server: str
) -> None:
    with capture("issue-key", "prod", tmp_path) as run:
        run.output = httpx.get(key_server).json()["key"][:7]  # the agent saw the real answer
    assert run.output == "sk-proj"
    [entry] = list(iter_index(tmp_path / "index.jsonl"))
    assert entry["status"] == "complete"
    [stored] = tmp_path.glob("*/*.json")
    text = stored.read_text()
    assert KEY not in text
    record = json.loads(text)["run"]
    assert record["status"] == "complete"
    assert json.loads(record["http"][0]["response"]["body"]["text"]) == {"key": "[REDACTED]"}
