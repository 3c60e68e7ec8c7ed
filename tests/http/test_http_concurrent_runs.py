"""Runs recording HTTP at the same time, in threads: each keeps its own, nothing stays patched."""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from pytest_opsladder.capture.recorder import RunRecorder
from pytest_opsladder.capture.variant import Case, Variant
from pytest_opsladder.cassette import files
from pytest_opsladder.modes import Mode, RecordMode


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        body = self.path.encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_two_runs_in_threads_record_their_own_requests_and_unpatch(
    echo_url: str, tmp_path: Path
) -> None:
    original_connection = http.client.HTTPConnection
    original_handle = httpx.HTTPTransport.handle_request
    barrier = threading.Barrier(2)

    def agent(name: str) -> None:
        recorder = RunRecorder(
            Case(name), Variant("prod"), tmp_path / f"{name}.json",
            mode=Mode.RECORD, record_mode=RecordMode.ALL,
        )  # fmt: skip
        with recorder, httpx.Client() as client:
            barrier.wait()  # both runs are active, and patched, at once
            for i in range(3):
                client.get(f"{echo_url}/{name}/{i}")
            barrier.wait()

    threads = [threading.Thread(target=agent, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for name in ("a", "b"):
        urls = [h["request"]["url"] for h in files.load(tmp_path / f"{name}.json").http]
        assert urls == [f"{echo_url}/{name}/{i}" for i in range(3)]
    assert http.client.HTTPConnection is original_connection
    assert httpx.HTTPTransport.handle_request is original_handle
    with pytest.raises(urllib.error.URLError):  # a refused connection, wrapped as urllib does
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)


def test_runs_one_after_another_each_record_their_own_requests(
    echo_url: str, tmp_path: Path
) -> None:
    """The process-wide patches are removed after each run and entered again by the next
    (vcrpy's, built once, and its aiohttp stub, built anew): each run records its calls from
    http.client, requests and httpx, and nothing stays patched in between."""
    import requests

    original_connection = http.client.HTTPConnection
    for name in ("a", "b", "c"):
        recorder = RunRecorder(
            Case(name), Variant("prod"), tmp_path / f"{name}.json",
            mode=Mode.RECORD, record_mode=RecordMode.ALL,
        )  # fmt: skip
        with recorder:
            assert http.client.HTTPConnection is not original_connection
            urllib.request.urlopen(f"{echo_url}/{name}/urllib", timeout=5).read()
            assert requests.get(f"{echo_url}/{name}/requests", timeout=5).text.endswith("requests")
            assert httpx.get(f"{echo_url}/{name}/httpx").status_code == 200
        assert http.client.HTTPConnection is original_connection
        urls = [h["request"]["url"] for h in files.load(tmp_path / f"{name}.json").http]
        assert urls == [f"{echo_url}/{name}/{how}" for how in ("urllib", "requests", "httpx")]
