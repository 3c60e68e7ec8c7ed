"""The receipt receiver (ladder level 1): a small HTTP endpoint in front of the state file.

``opsladder monitors serve --db monitors.sqlite --port 8787`` accepts
``POST /ping/<monitor>/<start|success|fail>`` (JSON body with ``run_id`` and ``message``, both
optional; ``curl -fsS -m 5 -X POST .../ping/nightly/success`` works) and stamps each receipt with
the receiver's clock. Unknown monitors get 404, bad kinds 400.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pytest_opsladder import _json
from pytest_opsladder.exceptions import ConfigError
from pytest_opsladder.schedule.errors import MonitorNotFoundError, MonitorStateError
from pytest_opsladder.schedule.state import MonitorStore

MAX_BODY = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: ReceiptServer

    def do_POST(self) -> None:
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) != 3 or parts[0] != "ping":
            return self._reply(404, {"error": "POST /ping/<monitor>/<start|success|fail>"})
        body = self._body()
        if body is None:
            return self._reply(400, {"error": "the body must be a JSON object (or empty)"})
        try:
            rid = self.server.store.record_receipt(
                parts[1],
                parts[2],
                body.get("run_id"),
                sent_at=body.get("sent_at"),
                message=str(body.get("message") or ""),
            )
        except MonitorNotFoundError as exc:
            return self._reply(404, {"error": str(exc)})
        except ConfigError as exc:
            return self._reply(400, {"error": str(exc)})
        except MonitorStateError as exc:  # 503: the sender keeps the receipt and retries
            return self._reply(503, {"error": str(exc)})
        return self._reply(202, {"ok": True, "receipt": rid})

    def _body(self) -> dict[str, Any] | None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        raw = self.rfile.read(length) if length else b""
        try:
            data = _json.parse(raw) if raw.strip() else {}
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _reply(self, code: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: receipts are recorded in the state file, not the console."""


class ReceiptServer(ThreadingHTTPServer):
    """``ReceiptServer(store, ("127.0.0.1", 0))``; ``url`` is its base URL once bound."""

    daemon_threads = True

    def __init__(self, store: MonitorStore, address: tuple[str, int] = ("127.0.0.1", 8787)):
        super().__init__(address, _Handler)
        self.store = store

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="opsladder-receipts", daemon=True)
        thread.start()
        return thread
