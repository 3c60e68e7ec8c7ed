"""Replay does not wait out an SDK's retry backoff: a run that was rate-limited (429 with
retry-after), met a server error or a refused connection and retried replays its attempts at
once, with the same outcome; live attempts, calls outside a run and replay at recorded speed
keep the SDK's own waits.

Real parts: a loopback server that answers the first attempts with an error status, a port
nothing listens on, the real openai (sync and async) and anthropic SDKs.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from http_helpers import outcomes, run_in

from pytest_opsladder.modes import Mode

RETRY_AFTER = 2.0  # seconds the server asks for: live, the SDK waits this long


class _Handler(BaseHTTPRequestHandler):
    server: FlakyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.hits += 1
            failing = self.server.hits <= self.server.failures
        if failing:
            status, headers = self.server.error
            self._send(status, {"error": {"message": "slow down", "type": "rate_limit"}}, headers)
        elif self.path.endswith("/messages"):
            self._send(200, {"id": "msg_1", "type": "message", "role": "assistant",
                             "model": body["model"], "content": [{"type": "text", "text": "ok"}],
                             "stop_reason": "end_turn", "stop_sequence": None,
                             "usage": {"input_tokens": 3, "output_tokens": 1}})  # fmt: skip
        else:
            message = {"role": "assistant", "content": f"answer after {self.server.hits}"}
            self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                             "model": body["model"], "choices": [{"index": 0, "message": message,
                             "finish_reason": "stop"}]})  # fmt: skip

    def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FlakyServer(ThreadingHTTPServer):
    """Answers the first ``failures`` requests with ``error`` (status, headers), then 200."""

    daemon_threads = True

    def __init__(self, failures: int, error: tuple[int, dict[str, str]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures, self.error, self.hits = failures, error, 0
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[FlakyServer] = []

    def start(failures: int, error: tuple[int, dict[str, str]]) -> FlakyServer:
        server = FlakyServer(failures, error)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _ask(url: str, retries: int = 2) -> str:
    client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=retries)
    reply = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hi"}])
    return str(reply.choices[0].message.content)


async def _ask_async(url: str) -> str:
    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=2) as c:
        reply = await c.chat.completions.create(
            model="m1", messages=[{"role": "user", "content": "hi"}]
        )
        return str(reply.choices[0].message.content)


def _timed(path: Path, fn: Any, mode: Mode, **opts: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    run = run_in(path, fn, mode=mode, **opts)
    return time.perf_counter() - t0, run


RATE_LIMITED = (429, {"retry-after": str(RETRY_AFTER)})


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_rate_limited_run_replays_its_retry_at_once(
    tmp_path: Path, serve: Any, flavour: str
) -> None:
    server = serve(1, RATE_LIMITED)
    path = tmp_path / "c.json"
    ask = (lambda: _ask(server.url)) if flavour == "sync" else (
        lambda: asyncio.run(_ask_async(server.url)))  # fmt: skip
    live, recorded = _timed(path, ask, Mode.RECORD)
    assert live >= RETRY_AFTER * 0.9  # the SDK waited as the server asked
    assert recorded.output == "answer after 2"
    hits = server.hits
    replay, replayed = _timed(path, ask, Mode.REPLAY)
    assert replay < 0.5 < RETRY_AFTER
    assert replayed.output == recorded.output
    assert outcomes(replayed) == ["replayed", "replayed"]
    assert [e.data["status"] for e in replayed.events_of("http")] == [429, 200]
    assert server.hits == hits  # nothing went out


def test_server_errors_replay_their_backoff_at_once(tmp_path: Path, serve: Any) -> None:
    server = serve(2, (503, {}))  # no retry-after: the SDK's backoff, 0.5 s then 1 s (jitter)
    path = tmp_path / "c.json"
    live, recorded = _timed(path, lambda: _ask(server.url), Mode.RECORD)
    assert live >= 0.9
    replay, replayed = _timed(path, lambda: _ask(server.url), Mode.REPLAY)
    assert replay < 0.5
    assert replayed.output == recorded.output == "answer after 3"
    assert [e.data["status"] for e in replayed.events_of("http")] == [503, 503, 200]


def test_a_refused_connection_replays_its_retries_at_once(tmp_path: Path, serve: Any) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    fallback = serve(0, RATE_LIMITED)

    def agent() -> str:
        try:
            return _ask(dead)
        except openai.APIConnectionError:
            return "fallback: " + _ask(fallback.url)

    path = tmp_path / "c.json"
    live, recorded = _timed(path, agent, Mode.RECORD)
    assert live >= 0.6  # two retries with backoff
    replay, replayed = _timed(path, agent, Mode.REPLAY)
    assert replay < 0.5
    assert replayed.output == recorded.output == "fallback: answer after 1"
    assert outcomes(replayed) == ["replayed"] * 4


def test_replay_at_recorded_speed_keeps_the_wait(tmp_path: Path, serve: Any) -> None:
    server = serve(1, RATE_LIMITED)
    path = tmp_path / "c.json"
    _timed(path, lambda: _ask(server.url), Mode.RECORD)
    replay, _ = _timed(path, lambda: _ask(server.url), Mode.REPLAY, stream_timing=1.0)
    assert replay >= RETRY_AFTER * 0.9


def test_a_call_after_the_replayed_run_waits_as_the_sdk_decides(tmp_path: Path, serve: Any) -> None:
    server = serve(1, RATE_LIMITED)
    path = tmp_path / "c.json"
    _timed(path, lambda: _ask(server.url), Mode.RECORD)
    _timed(path, lambda: _ask(server.url), Mode.REPLAY)  # this thread's last answer: replayed
    outside = serve(1, RATE_LIMITED)
    t0 = time.perf_counter()
    assert _ask(outside.url) == "answer after 2"
    assert time.perf_counter() - t0 >= RETRY_AFTER * 0.9


def test_the_anthropic_sdk_replays_its_retry_at_once(tmp_path: Path, serve: Any) -> None:
    server = serve(1, (529, {"retry-after": str(RETRY_AFTER)}))  # overloaded

    def ask() -> str:
        client = anthropic.Anthropic(base_url=server.url, api_key="sk-ant-test", max_retries=2)
        reply = client.messages.create(
            model="claude-x", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
        return str(reply.content[0].text)  # type: ignore[union-attr]

    path = tmp_path / "c.json"
    live, recorded = _timed(path, ask, Mode.RECORD)
    assert live >= RETRY_AFTER * 0.9
    replay, replayed = _timed(path, ask, Mode.REPLAY)
    assert replay < 0.5
    assert replayed.output == recorded.output == "ok"


PROJECT_AGENT = """
import json, os, time
import openai

def test_rate_limited_agent(opsladder_run):
    client = openai.OpenAI(base_url=os.environ["MODEL"] + "/v1", api_key="sk-test", max_retries=2)
    t0 = time.perf_counter()
    reply = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hi"}])
    took = time.perf_counter() - t0
    with open(os.environ["TOOK"], "a") as out:
        out.write(json.dumps({"took": took, "answer": reply.choices[0].message.content}) + "\\n")
    assert reply.choices[0].message.content == "answer after 2"
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_pytest_project_replays_its_rate_limited_test_at_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any, xdist: list[str]
) -> None:
    """As a user runs it: record once against a server that rate-limits the first attempt,
    then replay the test (serial and under xdist): it passes, and its call returns at once."""
    server = serve(1, RATE_LIMITED)
    took = pytester.path / "took.jsonl"
    monkeypatch.setenv("MODEL", server.url)
    monkeypatch.setenv("TOOK", str(took))
    pytester.makepyfile(test_agent=PROJECT_AGENT)
    quiet = ["-p", "no:cacheprovider", "-p", "no:randomly"]
    pytester.runpytest_subprocess(*quiet, "--opsladder-mode=record").assert_outcomes(passed=1)
    pytester.runpytest_subprocess(*quiet, *xdist).assert_outcomes(passed=1)
    live, replay = (json.loads(line) for line in took.read_text().splitlines())
    assert live["took"] >= RETRY_AFTER * 0.9
    assert replay["took"] < 0.5
    assert replay["answer"] == live["answer"]
    assert server.hits == 2  # the recording's two attempts; replay sent none
