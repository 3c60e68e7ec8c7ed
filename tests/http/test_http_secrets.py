"""Secrets never reach disk: scrubbed headers and query, a scanner that refuses, an allow-list."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest
from http_helpers import outcomes, run_in
from llm_servers import LLMServer

from pytest_opsladder.http.errors import HttpSecretError
from pytest_opsladder.http.secrets_scan import scan
from pytest_opsladder.modes import Mode

API_KEY = "sk-proj-" + "Zx9Yw8Vu7" * 4
LEAKED = "sk-proj-" + "A1b2C3d4" * 4  # what /echo-key answers with


def test_credential_headers_and_query_are_scrubbed_and_replay_still_matches(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def agent() -> list[str]:
        with openai.OpenAI(base_url=f"{llm_server.url}/v1", api_key=API_KEY) as client:
            reply = client.chat.completions.create(
                model="m1", messages=[{"role": "user", "content": "hi"}]
            )
        with httpx.Client() as client:
            got = client.get(f"{llm_server.url}/data?api_key={API_KEY}&q=1").json()
        return [reply.choices[0].message.content or "", got["path"]]

    path = tmp_path / "c.json"
    recorded = run_in(path, agent, Mode.RECORD)
    text = path.read_text()
    assert API_KEY not in text
    assert text.count("<scrubbed>") >= 2
    llm_server.stop()
    replayed = run_in(path, agent, Mode.REPLAY)
    assert replayed.output == recorded.output
    assert outcomes(replayed) == ["replayed", "replayed"]


def test_a_credential_in_a_body_refuses_the_cassette_naming_the_place(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def agent() -> list[str]:
        with httpx.Client() as client:
            client.get(f"{llm_server.url}/fine")
            return list(client.get(f"{llm_server.url}/echo-key").json())

    path = tmp_path / "c.json"
    with pytest.raises(HttpSecretError) as info:
        run_in(path, agent, Mode.RECORD)
    err = info.value
    assert (err.index, err.json_path) == (1, "$.http[1].response.body.text.leaked")
    assert err.run_id in str(err)
    assert "OpenAI API key" in str(err)
    assert LEAKED not in str(err)
    # refused: nothing is written (a previous cassette at this path would stay as it was)
    assert not path.exists()


def test_the_allow_list_lets_a_false_positive_through(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def agent() -> dict[str, str]:
        with httpx.Client() as client:
            return dict(client.get(f"{llm_server.url}/echo-key").json())

    path = tmp_path / "c.json"
    run = run_in(path, agent, Mode.RECORD, secrets_allow=[r"sk-proj-(A1b2C3d4)+"])
    assert run.output == {"leaked": LEAKED}
    assert LEAKED in path.read_text()


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("sk-ant-api03-" + "a" * 30, "Anthropic API key"),
        ("AKIA" + "ABCDEFGHIJKLMNOP", "AWS access key id"),
        ("ghp_" + "a1" * 18, "GitHub token"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlX2hlcmU", "JSON Web Token"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE", "private key"),
        ("AIza" + "B" * 35, "Google API key"),
    ],
)
def test_the_scanner_recognises_common_credential_formats(secret: str, kind: str) -> None:
    http = [
        {"request": {"body": {"text": '{"messages": [{"content": "x"}]}'}}},
        {"response": {"chunks": [{"t": 0.1, "text": f"data: {secret}\n\n"}]}},
    ]
    (finding,) = scan(http)
    assert (finding.index, finding.kind) == (1, kind)
    assert finding.path == "$.http[1].response.chunks[0].text"
