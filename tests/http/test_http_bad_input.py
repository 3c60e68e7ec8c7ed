"""Bad input: malformed SSE, binary, gzip/brotli, 10 MB, non-UTF-8, non-JSON, dropped streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from http_helpers import outcomes, run_in
from llm_servers import BAD_SSE, LLMServer

from pytest_opsladder.capture.run import RunStatus
from pytest_opsladder.cassette import files
from pytest_opsladder.http.bodies import decode_body
from pytest_opsladder.modes import Mode, RecordMode


def get(url: str) -> list[Any]:
    """Status, headers and body (hex: a run's output must be JSON) of a GET."""
    with httpx.Client() as client:
        response = client.get(url)
    return [response.status_code, dict(response.headers), response.content.hex()]


def record_and_replay(server: LLMServer, path: Path, fn: Any) -> tuple[Any, Any]:
    recorded = run_in(path, fn, Mode.RECORD).output
    server.stop()
    replayed = run_in(path, fn, Mode.REPLAY)
    assert set(outcomes(replayed)) == {"replayed"}
    return recorded, replayed.output


@pytest.mark.parametrize(("route", "expected"), [("/gzip", "gzip"), ("/brotli", "br")])
def test_compressed_bodies_are_stored_decoded_and_replay_the_same(
    llm_server: LLMServer, tmp_path: Path, route: str, expected: str
) -> None:
    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, lambda: get(llm_server.url + route)[2])
    assert rec == rep
    assert json.loads(bytes.fromhex(rep)) == {"packed": expected}
    stored = files.load(path).http[0]["response"]
    assert json.loads(stored["body"]["text"]) == {"packed": expected}
    assert "content-encoding" not in stored["headers"]


@pytest.mark.parametrize("route", ["/binary", "/latin1"])
def test_binary_and_non_utf8_bodies_are_base64_and_byte_identical(
    llm_server: LLMServer, tmp_path: Path, route: str
) -> None:
    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, lambda: get(llm_server.url + route)[2])
    assert rec == rep
    assert "base64" in files.load(path).http[0]["response"]["body"]


def test_a_10_mb_body(llm_server: LLMServer, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    rec, rep = record_and_replay(
        llm_server, path, lambda: len(get(llm_server.url + "/big")[2]) // 2
    )
    assert rec == rep == 10 * 1024 * 1024


def test_non_json_response_on_a_json_endpoint_replays_verbatim(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, lambda: get(llm_server.url + "/notjson"))
    assert rec[2] == rep[2] == b"<html>oops</html>".hex()
    assert rep[1]["content-type"] == "application/json"


def test_non_json_and_non_utf8_request_bodies_match_by_bytes(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def post(body: bytes) -> Any:
        with httpx.Client() as client:
            url = llm_server.url + "/v1/chat/completions"
            r = client.post(url, content=body, headers={"content-type": "application/json"})
            return r.status_code, r.text

    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, lambda: [post(b"{nope"), post(b"\xff\xfe")])
    assert rec == rep
    assert rec[0][0] == 400


def test_malformed_sse_keeps_its_chunks(llm_server: LLMServer, tmp_path: Path) -> None:
    def read() -> list[str]:
        with httpx.Client() as client, client.stream("GET", llm_server.url + "/badsse") as r:
            return [chunk.decode() for chunk in r.iter_raw()]

    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, read)
    assert rec == rep
    assert "".join(rep).encode() == b"".join(BAD_SSE)
    assert len(files.load(path).http[0]["response"]["chunks"]) == len(rec)


def test_a_stream_dropped_mid_way_is_stored_partial_with_its_error_and_replays_the_same(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    """The server closes the connection after three events: what arrived is stored, marked
    partial, with the error; replay yields the same chunks, then raises the same error."""
    got: list[str] = []

    def read() -> list[str]:
        got.clear()
        with httpx.Client() as client, client.stream("POST", llm_server.url + "/drop") as r:
            for chunk in r.iter_raw():
                got.append(chunk.decode())
        return got

    path = tmp_path / "c.json"
    with pytest.raises(httpx.RemoteProtocolError) as live:
        run_in(path, read, Mode.RECORD)
    recorded_chunks = list(got)
    assert recorded_chunks
    saved = files.load(path)
    assert saved.status is RunStatus.ERROR
    assert saved.error is not None
    assert saved.error["type"] == "RemoteProtocolError"
    [item] = saved.http
    assert item["response"]["partial"] is True
    assert [decode_body(c).decode() for c in item["response"]["chunks"]] == recorded_chunks
    assert item["error"]["kind"] == "incomplete_body"
    assert item["error"]["class"] == "httpx.RemoteProtocolError"
    (event,) = saved.events_of("http")
    assert event.data["error_kind"] == "incomplete_body"
    assert "RemoteProtocolError" in event.data["error"]
    assert event.data["index"] == 0

    llm_server.stop()
    with pytest.raises(httpx.RemoteProtocolError) as replayed:
        run_in(path, read, Mode.REPLAY, record_mode=RecordMode.NONE)
    assert got == recorded_chunks
    assert str(replayed.value) == str(live.value)


def test_requests_goes_through_vcrpy_and_replays(llm_server: LLMServer, tmp_path: Path) -> None:
    def call() -> list[Any]:
        r1 = requests.get(llm_server.url + "/gzip", timeout=10)
        r2 = requests.post(llm_server.url + "/echo", json={"a": 1, "user": "x"}, timeout=10)
        return [r1.json(), r2.json(), r1.headers.get("content-type")]

    path = tmp_path / "c.json"
    recorded = run_in(path, call, Mode.RECORD)
    assert outcomes(recorded) == ["recorded", "recorded"]
    llm_server.stop()
    replayed = run_in(path, call, Mode.REPLAY)
    assert replayed.output == recorded.output
    assert outcomes(replayed) == ["replayed", "replayed"]
    assert files.load(path).http[0]["transport"] == "vcrpy"


@pytest.mark.parametrize("depth", [40, 58, 59, 60, 61, 62, 70, 254, 255, 400, 900, 5000])
def test_a_deeply_nested_json_body_is_recorded_and_replayed_byte_for_byte(
    llm_server: LLMServer, tmp_path: Path, depth: int
) -> None:
    path = tmp_path / "c.json"
    url = f"{llm_server.url}/deep?depth={depth}"
    rec, rep = record_and_replay(llm_server, path, lambda: get(url))
    assert rec == rep
    assert bytes.fromhex(rep[2]).startswith(b'{"a":{"a":')
    assert len(bytes.fromhex(rep[2])) == 6 * depth + 1


@pytest.mark.parametrize("depth", [61, 300, 2000])
def test_a_deeply_nested_json_request_is_recorded_and_replays_on_its_own_key(
    llm_server: LLMServer, tmp_path: Path, depth: int
) -> None:
    def nested(leaf: int) -> bytes:
        return b'{"a":' * depth + str(leaf).encode() + b"}" * depth

    def agent() -> list[int]:
        with httpx.Client() as client:  # the echo answers each body with its own status
            sent = [client.post(f"{llm_server.url}/echo", content=nested(i)) for i in (2, 1)]
        return [len(r.content) for r in sent]

    path = tmp_path / "c.json"
    rec, rep = record_and_replay(llm_server, path, agent)
    assert rec == rep
    assert rec[0] == rec[1]  # same length, different leaves: told apart only by the key
