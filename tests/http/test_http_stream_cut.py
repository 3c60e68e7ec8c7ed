"""A stream cut after its headers is part of the recording: the chunks that arrived are stored
(marked partial) with the error that cut them, and replay yields the same chunks, then raises
the replaying client's own error, so an agent that kept the partial text, retried or fell back
live does the same offline.

Real parts: a loopback server that sends the headers and two SSE chunks then closes the socket
(or stalls past the client's read timeout), the real openai SDK (sync and async) and aiohttp.
Replay points the cutting endpoint at a live server: had anything gone out, it would answer.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_servers import LLMServer
from raw_servers import RawServer
from test_http_transport_errors import QUIET, XDIST, cassette_http, seen, setup_project

from pytest_opsladder.http.llm_providers import llm_call_of


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _chunk(word: str) -> bytes:
    delta = {"role": "assistant", "content": word}
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m1"}
    return _sse({**event, "choices": [choice]})


EVENTS = [_chunk("Hello "), _chunk("world")]


class CutServer(RawServer):
    """Answers every request with 200, SSE headers and two chunks (chunked encoding), then
    closes the socket (``close``) or holds it silent (``stall``) until stopped; ``whole``
    ends the stream as it should."""

    def answer(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for event in EVENTS:
            conn.sendall(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        if self.how == "whole":  # the stream as it should end: finish, [DONE], last chunk
            for event in (_finish_chunk(), b"data: [DONE]\n\n"):
                conn.sendall(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
            self.hold(conn)
        elif self.how == "close":
            conn.close()
        else:
            self.hold(conn)


@pytest.fixture
def cutting() -> Iterator[dict[str, CutServer]]:
    servers = {"close": CutServer("close"), "stall": CutServer("stall")}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


AGENT = """
import os
import httpx, openai

def stream(url, timeout=0.5):
    client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0,
                           timeout=timeout)
    parts = []
    try:
        for chunk in client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "hi"}], stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    except (httpx.HTTPError, openai.APIError) as exc:
        cause = exc.__cause__ or exc.__context__ or exc
        return "".join(parts), f"{type(exc).__name__} from {type(cause).__name__}"
    return "".join(parts), None

def test_agent(opsladder_run):
    kept, errors = [], []
    for _ in range(2):  # the primary, then one retry of it
        text, error = stream(os.environ["PRIMARY"])
        kept.append(text)
        if error is None:
            break
        errors.append(error)
    answer = stream(os.environ["FALLBACK"], 5.0)[0] if errors else kept[-1]
    opsladder_run.output = {"kept": kept, "errors": errors, "answer": answer}
    assert answer
"""

ASYNC_AGENT = """
import asyncio, os
import httpx, openai

async def stream(url, timeout=0.5):
    parts = []
    async with openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0,
                                  timeout=timeout) as client:
        try:
            reply = await client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "hi"}], stream=True)
            async for chunk in reply:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
        except (httpx.HTTPError, openai.APIError) as exc:
            cause = exc.__cause__ or exc.__context__ or exc
            return "".join(parts), f"{type(exc).__name__} from {type(cause).__name__}"
    return "".join(parts), None

def test_async_agent(opsladder_run):
    kept, errors = [], []
    for _ in range(2):
        text, error = asyncio.run(stream(os.environ["PRIMARY"]))
        kept.append(text)
        if error is None:
            break
        errors.append(error)
    answer = asyncio.run(stream(os.environ["FALLBACK"], 5.0))[0] if errors else kept[-1]
    opsladder_run.output = {"kept": kept, "errors": errors, "answer": answer}
    assert answer
"""

AIOHTTP_AGENT = """
import asyncio, os
import aiohttp

async def read(url):
    lines = []
    timeout = aiohttp.ClientTimeout(sock_read=0.5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(url + "/v1/chat/completions", json={"stream": True}) as response:
            try:
                async for chunk in response.content.iter_any():
                    lines.append(chunk.decode())
            except (aiohttp.ClientError, TimeoutError) as exc:
                return "".join(lines), type(exc).__name__
    return "".join(lines), None

def test_aiohttp_agent(opsladder_run):
    text, error = asyncio.run(read(os.environ["PRIMARY"]))
    opsladder_run.output = {"text": text, "error": error}
"""

KIND = {"close": "incomplete_body", "stall": "read_timeout"}


def _events(runs: dict[str, Any]) -> dict[str, Any]:
    """The runs as the agent lived them: events without outcome, index or port; outputs."""
    out = {}
    for name, run in runs.items():
        events = [{**e, "outcome": None, "url": e["url"].split("/", 3)[-1]} for e in run["events"]]
        out[name] = {"events": events, "output": run["output"]}
    return out


def _replay_against_a_live_server(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    events: Path,
    args: tuple[str, ...] = (),
    subprocess: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    answering = LLMServer().start()  # had replay gone out, the primary would answer now
    try:
        monkeypatch.setenv("PRIMARY", answering.url)
        for path in events.glob("*.json"):
            path.unlink()
        session = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        result = session(*args, *QUIET)
        result.assert_outcomes(passed=len(list(pytester.path.glob("test_*.py"))))
        return seen(events), list(answering.hits)
    finally:
        answering.stop()


@pytest.mark.parametrize("agent", ["sync", "async"])
@pytest.mark.parametrize("cut", ["close", "stall"])
def test_an_openai_stream_cut_mid_body_replays_offline_with_its_retry_and_fallback(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    fallback: LLMServer,
    cutting: dict[str, CutServer],
    cut: str,
    agent: str,
) -> None:
    """The primary's stream is cut after two chunks, twice (the agent keeps the partial text
    and retries once), then the agent falls back. Replay, with the fallback gone and the
    primary answering whole, takes the same path: same partial text, errors, events, output."""
    events = setup_project(pytester, monkeypatch, PRIMARY=cutting[cut].url, FALLBACK=fallback.url)
    pytester.makepyfile(**{f"test_{agent}": AGENT if agent == "sync" else ASYNC_AGENT})
    pytester.runpytest("--opsladder-mode=record", *QUIET).assert_outcomes(passed=1)
    assert cutting[cut].hits == 2
    recorded = seen(events)
    [run] = recorded.values()
    error = {  # what the SDK raised live, from httpx's error for the cut
        "stall": "APITimeoutError from ReadTimeout",
        "close": "APIConnectionError from RemoteProtocolError",
    }[cut]
    assert run["output"]["kept"] == ["Hello world", "Hello world"]
    assert run["output"]["errors"] == [error, error]
    assert [e["error_kind"] for e in run["events"]] == [KIND[cut], KIND[cut], None]
    http = cassette_http(pytester)
    cuts = [item for item in http if "error" in item]
    assert [item["error"]["kind"] for item in cuts] == [KIND[cut]] * 2
    assert all(item["response"]["partial"] is True for item in cuts)
    assert all(len(item["response"]["chunks"]) == 2 for item in cuts)
    call = llm_call_of(cuts[0])
    assert call is not None
    assert call["usage"] is None
    assert "the stream was cut" in call["parse_error"]

    fallback.stop()
    replayed, hits = _replay_against_a_live_server(pytester, monkeypatch, events)
    assert hits == []
    assert _events(replayed) == _events(recorded)
    [run] = replayed.values()
    assert {e["outcome"] for e in run["events"]} == {"replayed"}


@pytest.mark.parametrize("xdist", XDIST)
def test_cut_streams_record_and_replay_serial_and_under_xdist(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    fallback: LLMServer,
    cutting: dict[str, CutServer],
    xdist: list[str],
) -> None:
    events = setup_project(
        pytester, monkeypatch, PRIMARY=cutting["close"].url, FALLBACK=fallback.url
    )
    pytester.makepyfile(test_sync=AGENT, test_async=ASYNC_AGENT)
    session = pytester.runpytest_subprocess if xdist else pytester.runpytest
    session("--opsladder-mode=record", *xdist, *QUIET).assert_outcomes(passed=2)
    recorded = seen(events)
    assert len(recorded) == 2
    for run in recorded.values():
        assert run["output"]["errors"] == ["APIConnectionError from RemoteProtocolError"] * 2
    fallback.stop()
    replayed, hits = _replay_against_a_live_server(
        pytester, monkeypatch, events, tuple(xdist), subprocess=bool(xdist)
    )
    assert hits == []
    assert _events(replayed) == _events(recorded)


@pytest.mark.parametrize("cut", ["close", "stall"])
def test_an_aiohttp_stream_cut_mid_body_replays_its_chunks_then_aiohttps_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    cutting: dict[str, CutServer],
    cut: str,
) -> None:
    events = setup_project(pytester, monkeypatch, PRIMARY=cutting[cut].url)
    pytester.makepyfile(test_aio=AIOHTTP_AGENT)
    pytester.runpytest_subprocess("--opsladder-mode=record", *QUIET).assert_outcomes(passed=1)
    recorded = seen(events)
    [run] = recorded.values()
    assert run["output"]["text"] == b"".join(EVENTS).decode()
    assert run["output"]["error"] == (
        "ClientPayloadError" if cut == "close" else "SocketTimeoutError"
    )
    [item] = cassette_http(pytester)
    assert item["response"]["partial"] is True
    assert item["error"]["kind"] == KIND[cut]
    replayed, hits = _replay_against_a_live_server(pytester, monkeypatch, events, subprocess=True)
    assert hits == []
    assert _events(replayed) == _events(recorded)


def test_a_re_record_whose_stream_got_cut_keeps_the_good_cassette(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    fallback: LLMServer,
    cutting: dict[str, CutServer],
) -> None:
    """The baseline got the primary's stream whole; the re-record got it cut (the agent
    coped by falling back): the recording of the outage is written beside the baseline."""
    primary = cutting["close"]
    primary.how = "whole"
    setup_project(pytester, monkeypatch, PRIMARY=primary.url, FALLBACK=fallback.url)
    pytester.makepyfile(test_sync=AGENT)
    pytester.runpytest("--opsladder-mode=record", *QUIET).assert_outcomes(passed=1)
    [path] = pytester.path.glob("cassettes/**/prod.json")
    before = path.read_bytes()
    assert "error" not in json.loads(before)["run"]["http"][0]
    primary.how = "close"
    for mode in ("all", "rewrite"):
        result = pytester.runpytest(
            "--opsladder-mode=record", f"--opsladder-record-mode={mode}", *QUIET
        )
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*1 good cassette(s) kept*"])
        assert path.read_bytes() == before
        error = json.loads(path.with_name("prod.error.json").read_text())
        cut = [i for i in error["run"]["http"] if "error" in i]
        assert [i["error"]["kind"] for i in cut] == ["incomplete_body"] * 2
        assert all(i["response"]["partial"] is True for i in cut)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("drop_partial", "at $.run.http[0]: expected one of: a 'response' (whole"),
        ("bad_kind", "at $.run.http[0].error.kind: expected one of 'connect_refused'"),
        ("partial_without_error", "at $.run.http[0]: expected one of: a 'response' (whole"),
    ],
)
def test_a_malformed_cut_entry_is_a_cassette_error_naming_file_place_and_fix(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    fallback: LLMServer,
    cutting: dict[str, CutServer],
    change: str,
    expected: str,
) -> None:
    setup_project(pytester, monkeypatch, PRIMARY=cutting["close"].url, FALLBACK=fallback.url)
    pytester.makepyfile(test_sync=AGENT)
    pytester.runpytest("--opsladder-mode=record", *QUIET).assert_outcomes(passed=1)
    [path] = pytester.path.glob("cassettes/**/prod.json")
    data = json.loads(path.read_text())
    item = data["run"]["http"][0]
    if change == "drop_partial":
        del item["response"]["partial"]
    elif change == "bad_kind":
        item["error"]["kind"] = "gremlins"
    else:
        del item["error"]
    path.write_text(json.dumps(data))
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    text = result.stdout.str()
    assert expected in text
    assert "prod.json" in text
    assert "re-record" in text
    assert "Traceback (most recent call last)" not in text


def _usage_chunk() -> bytes:
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m1"}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    return _sse({**event, "choices": [], "usage": usage})


def _finish_chunk() -> bytes:
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m1"}
    return _sse({**event, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


@pytest.mark.parametrize(
    ("events", "usage"),
    [
        pytest.param(EVENTS, None, id="cut-before-the-end"),
        pytest.param([*EVENTS, _finish_chunk()], None, id="cut-after-finish-before-usage"),
        pytest.param([*EVENTS, _finish_chunk(), _usage_chunk()], 5, id="cut-after-usage"),
    ],
)
def test_a_cut_streams_usage_is_unknown_unless_the_stream_carried_its_final_usage(
    events: list[bytes], usage: int | None
) -> None:
    body = {"model": "m1", "stream": True, "messages": []}
    item = {
        "request": {"method": "POST", "url": "https://api.openai.com/v1/chat/completions",
                    "body": {"text": json.dumps(body)}},
        "response": {"status": 200, "headers": {"content-type": ["text/event-stream"]},
                     "chunks": [{"t": 0.1 * i, "text": e.decode()} for i, e in enumerate(events)],
                     "partial": True},
        "error": {"version": 1, "kind": "incomplete_body", "class": "httpx.RemoteProtocolError",
                  "message": "peer closed connection without sending complete message body"},
        "elapsed": 1.0,
    }  # fmt: skip
    call = llm_call_of(item)
    assert call is not None
    assert "incomplete_body" in call["error"]
    if usage is None:
        assert call["usage"] is None
        assert "the stream was cut (incomplete_body)" in call["parse_error"]
    else:
        assert call["usage"]["input_tokens"] + call["usage"]["output_tokens"] == usage
    whole = {**item, "response": {**item["response"]}}
    del whole["error"], whole["response"]["partial"]
    assert (llm_call_of(whole) or {}).get("error") is None
