"""The cassette boundary over real HTTP (issue 14): uploads and transcription through the openai
SDK replay offline; credentials in streams, queries, headers and forms never reach disk."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import requests
from boundary_server import LEAK, BoundaryServer
from http_helpers import outcomes, run_in

from pytest_opsladder.exceptions import HttpReplayMissError
from pytest_opsladder.modes import Mode, RecordMode
from pytest_opsladder.secrets import CassetteSecretError

TOKEN = "q7Xv2LmN9pR4sT8wZ1bC5dF0"


@pytest.fixture
def server() -> Iterator[BoundaryServer]:
    srv = BoundaryServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def wav(seconds: float = 0.05, tone: int = 3) -> bytes:
    out = BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes((i * tone) % 256 for i in range(int(16000 * seconds))))
    return out.getvalue()


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)


def test_an_upload_and_a_transcription_through_the_sdk_replay_offline(
    server: BoundaryServer, tmp_path: Path
) -> None:
    audio = wav()

    def agent() -> list[Any]:
        with sdk(server.url) as client:
            uploaded = client.files.create(
                file=("notes.txt", b"refund policy v2", "text/plain"), purpose="assistants"
            )
            heard = client.audio.transcriptions.create(
                model="whisper-1", file=("call.wav", audio, "audio/wav")
            )
        return [uploaded.id, uploaded.filename, heard.text]

    path = tmp_path / "c.json"
    recorded = run_in(path, agent, Mode.RECORD)
    assert recorded.output[2].startswith("heard call.wav (whisper-1)")
    server.stop()  # offline from here: the random multipart boundary differs on every call
    replayed = run_in(path, agent, Mode.REPLAY)
    assert replayed.output == recorded.output
    assert outcomes(replayed) == ["replayed", "replayed"]
    audio = wav(tone=5)  # other content in the same part: not the recorded request
    with pytest.raises(HttpReplayMissError, match="multipart"):
        run_in(path, agent, Mode.REPLAY)


def test_a_form_body_matches_by_its_pairs(server: BoundaryServer, tmp_path: Path) -> None:
    order = [("a", "1"), ("b", "two words")]

    def agent() -> Any:
        with httpx.Client() as client:
            return client.post(f"{server.url}/form", data=dict(order)).json()

    path = tmp_path / "c.json"
    run_in(path, agent, Mode.RECORD)
    server.stop()
    order.reverse()  # the same pairs in another order are another form
    with pytest.raises(HttpReplayMissError):
        run_in(path, agent, Mode.REPLAY)
    order.reverse()
    assert run_in(path, agent, Mode.REPLAY).output == {"ok": True}


def _split_httpx(url: str) -> str:
    with httpx.Client() as client, client.stream("GET", f"{url}/split") as response:
        return "".join(response.iter_text())


def _split_requests(url: str) -> str:
    with requests.get(f"{url}/split", stream=True, timeout=5) as response:
        return "".join(c.decode() for c in response.iter_content(chunk_size=None))


@pytest.mark.parametrize("client", [_split_httpx, _split_requests])
def test_a_key_split_across_stream_chunks_is_refused_and_the_previous_cassette_stays(
    server: BoundaryServer, tmp_path: Path, client: Any
) -> None:
    path = tmp_path / "c.json"
    run_in(path, lambda: "before", Mode.RECORD)
    before = path.read_bytes()
    with pytest.raises(CassetteSecretError) as info:
        run_in(path, lambda: client(server.url), Mode.RECORD, RecordMode.ALL)
    assert "$.http[0].response" in str(info.value)
    assert path.read_bytes() == before
    assert LEAK not in "".join(p.read_text() for p in tmp_path.iterdir())


def test_a_key_split_across_deltas_of_an_escaping_server_is_refused(
    server: BoundaryServer, tmp_path: Path
) -> None:
    """The SDK joins the deltas it parses; the server writes non-ASCII as \\u escapes, so the
    deltas as written are not the text the client reads. The key is still refused."""

    def agent() -> bool:
        with sdk(server.url) as client:
            stream = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "la cl\u00e9 ?"}], stream=True
            )
            return LEAK in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    path = tmp_path / "c.json"
    with pytest.raises(CassetteSecretError, match=r"\$\.http\[0\]\.response\.chunks") as info:
        run_in(path, agent, Mode.RECORD)
    assert "as the client parses them" in str(info.value)
    assert not path.exists()
    assert LEAK not in "".join(p.read_text() for p in tmp_path.iterdir() if p.is_file())


@pytest.mark.parametrize("path", ["/bot{token}/sendMessage", "/hooks/{token}"])
def test_a_key_in_the_url_path_is_scrubbed_and_replay_still_matches(
    server: BoundaryServer, tmp_path: Path, path: str
) -> None:
    """Telegram's Bot API and webhook URLs carry the key in the path: it is scrubbed as a
    query's is, at record and at replay, so the cassette holds none and still matches."""
    token = {"/bot{token}/sendMessage": "123456789:AAEhBOweik9ai2o3jgkj4kejkfkjejfjekf"}.get(
        path, LEAK
    )

    def agent() -> int:
        with httpx.Client() as client:
            return client.post(server.url + path.format(token=token), json={"q": 1}).status_code

    cassette = tmp_path / "c.json"
    recorded = run_in(cassette, agent, Mode.RECORD)
    assert token not in cassette.read_text()
    assert "<scrubbed>" in cassette.read_text()
    server.stop()
    replayed = run_in(cassette, agent, Mode.REPLAY)
    assert (replayed.output, outcomes(replayed)) == (recorded.output, ["replayed"])


def test_credential_named_query_fields_and_headers_are_scrubbed_and_replay_matches(
    server: BoundaryServer, tmp_path: Path
) -> None:
    encoded = "".join(f"%{b:02X}" for b in LEAK.encode())
    query = f"secret={TOKEN}&auth={TOKEN}&session={TOKEN}&code={TOKEN}&private_token={TOKEN}"
    headers = {"X-Service-Token": TOKEN, "Private-Token": TOKEN, "X-Session-Id": TOKEN}

    def agent() -> list[Any]:
        with httpx.Client(headers=headers) as client:
            first = client.get(f"{server.url}/q?{query}&page=2").json()
            second = client.get(f"{server.url}/k?q={encoded}").status_code
        return [first["params"], second]

    path = tmp_path / "c.json"
    recorded = run_in(path, agent, Mode.RECORD)
    text = path.read_text()
    assert TOKEN not in text
    assert LEAK not in text
    assert encoded not in text
    assert "page=2" in text
    server.stop()
    assert recorded.output == [6, 200]
    replayed = run_in(path, agent, Mode.REPLAY)
    assert (replayed.output, outcomes(replayed)) == ([6, 200], ["replayed", "replayed"])
