"""The review page served on loopback (ladder level 7): stdlib ``http.server``, one thread per
request. ``GET /`` shows the sampled runs; ``POST /verdict`` records a verdict (and promotes a
bad run when asked) and redirects back (post/redirect/get, so a reload never records twice).
Verdicts are appended to the store under its lock: two reviewers at once both keep theirs.
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pytest_opsladder.exceptions import OpsladderError
from pytest_opsladder.review.page import render_page
from pytest_opsladder.review.verdicts import PromotionError, review_run
from pytest_opsladder.store.errors import StoreError
from pytest_opsladder.store.index import entry_path
from pytest_opsladder.store.reviews import read_reviews
from pytest_opsladder.store.runs import load_run

CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"
MAX_BODY = 64 * 1024


@dataclass
class ReviewSession:
    """What the server shows and where it writes."""

    store: Path
    entries: list[dict[str, Any]]
    nightmare_dir: Path

    def runs(self) -> list[dict[str, Any]]:
        return [{"entry": e, "record": self._record(e)} for e in self.entries]

    def _record(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return load_run(self.store, entry_path(entry))
        except (OpsladderError, OSError):
            return None  # shown from the index alone: the run file was archived or damaged

    def known(self, run_id: str) -> bool:
        return any(e.get("run_id") == run_id for e in self.entries)


class _Handler(BaseHTTPRequestHandler):
    session: ReviewSession

    def log_message(self, format: str, *args: Any) -> None:
        return  # a reviewer's terminal shows the URL, not every request

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path != "/":
            self._send(404, "<p>not found</p>")
            return
        msg = urllib.parse.parse_qs(parsed.query).get("msg", [""])[0]
        page = render_page(self.session.runs(), read_reviews(self.session.store), msg)
        self._send(200, page)

    def do_POST(self) -> None:
        if urllib.parse.urlsplit(self.path).path != "/verdict":
            self._send(404, "<p>not found</p>")
            return
        try:
            message = self._record(self._form())
        except PromotionError as exc:  # the verdict is kept; only the promotion failed
            message = str(exc)
        except (OpsladderError, OSError, ValueError) as exc:
            message = f"not recorded: {exc}"
        self.send_response(303)
        self.send_header("Location", "/?" + urllib.parse.urlencode({"msg": message}))
        self.end_headers()

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError(f"form of {length} bytes is over the {MAX_BODY}-byte limit")
        raw = self.rfile.read(length).decode("utf-8")
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def _record(self, form: dict[str, str]) -> str:
        run_id = form.get("run_id", "")
        if not self.session.known(run_id):
            raise StoreError(f"run {run_id!r} is not in this review's sample.")
        record = review_run(
            self.session.store,
            run_id,
            form.get("verdict", ""),
            form.get("note", ""),
            reviewer=form.get("reviewer") or None,
            promote=form.get("promote") == "1",
            nightmare_dir=self.session.nightmare_dir,
        )
        promoted = f"; promoted to {record['promoted_to']}" if record["promoted_to"] else ""
        return f"recorded {record['verdict']} for {run_id}{promoted}"

    def _send(self, status: int, html: str) -> None:
        body = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def make_server(session: ReviewSession, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: a free one); ``server.server_address`` has the port."""
    handler = type("ReviewHandler", (_Handler,), {"session": session})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="opsladder-review", daemon=True)
    thread.start()
    return thread
