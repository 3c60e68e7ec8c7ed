"""aiohttp in a run: json=, data= and multipart bodies record and replay; streams chunk by chunk."""

from __future__ import annotations

import json
import textwrap

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is in the test extra: pip install -e '.[test]'")

CONFTEST = textwrap.dedent(
    """
    import json, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import pytest
    from pytest_opsladder.plugin import SETTINGS_KEY

    EVENTS = [b'data: {"n": 1}\\n\\n', b'data: {"n": 2}\\n\\n', b'data: [DONE]\\n\\n']

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            reply = json.dumps({"content_type": self.headers["content-type"],
                                "body": body.decode("latin-1")}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for event in EVENTS:  # separate writes, apart: separate chunks on the wire
                self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(event), event))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\\r\\n\\r\\n")

    @pytest.fixture(scope="session")
    def server_url(pytestconfig):
        if pytestconfig.stash[SETTINGS_KEY].mode.value == "replay":
            yield "http://127.0.0.1:9"  # nothing listens: replay must not go out
            return
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        server.server_close()
    """
)

TESTS = textwrap.dedent(
    """
    import asyncio, json
    import aiohttp
    import pytest

    async def post(url, **kwargs):
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/echo", **kwargs) as reply:
                return await reply.json()

    @pytest.mark.opsladder
    def test_json_body(opsladder_run, server_url):
        out = asyncio.run(post(server_url, json={"a": 1, "b": [1, 2]}))
        assert out["content_type"] == "application/json"
        assert json.loads(out["body"]) == {"a": 1, "b": [1, 2]}

    @pytest.mark.opsladder
    def test_form_body(opsladder_run, server_url):
        out = asyncio.run(post(server_url, data={"x": "1", "y": "two"}))
        assert out["content_type"] == "application/x-www-form-urlencoded"
        assert out["body"] == "x=1&y=two"

    @pytest.mark.opsladder
    def test_multipart_body(opsladder_run, server_url):
        form = aiohttp.FormData()
        form.add_field("note", "hello")
        form.add_field("file", b"abc", filename="a.txt", content_type="text/plain")
        out = asyncio.run(post(server_url, data=form))
        assert out["content_type"].startswith("multipart/form-data; boundary=")
        assert 'filename="a.txt"' in out["body"] and "abc" in out["body"]

    async def stream(url):
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/sse") as reply:
                return [chunk.decode() async for chunk in reply.content.iter_any()]

    @pytest.mark.opsladder
    def test_stream(opsladder_run, server_url):
        chunks = asyncio.run(stream(server_url))
        print("CHUNKS", json.dumps(chunks))
        assert "".join(chunks).endswith("data: [DONE]\\n\\n")
    """
)


def _chunks(stdout: list[str]) -> list[str]:
    line = next(ln for ln in stdout if "CHUNKS " in ln)
    return list(json.loads(line.split("CHUNKS ", 1)[1]))


def test_aiohttp_bodies_and_streams_record_and_replay(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_aio=TESTS)
    recorded = pytester.runpytest("--opsladder-mode=record", "-s", "-p", "no:randomly")
    recorded.assert_outcomes(passed=4)
    live = _chunks(recorded.outlines)
    assert len(live) >= 2, f"the live stream reached the agent as one block: {live}"
    cassette = pytester.path / "cassettes/opsladder/test_aio/test_stream/baseline.json"
    stored = json.loads(cassette.read_text())["run"]["http"][0]["response"]
    assert [c["text"] for c in stored["chunks"]] == live
    replayed = pytester.runpytest("-s", "-p", "no:randomly")
    replayed.assert_outcomes(passed=4)
    replayed.stdout.fnmatch_lines(["*0 recorded, 4 replayed*"])
    assert _chunks(replayed.outlines) == live  # chunk by chunk, the recorded boundaries
