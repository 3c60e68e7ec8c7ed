"""Done when (issue 12): results.json shows tokens and cost for chat-completions, Responses-API
and Anthropic traffic, streamed and not, with no llm_call in user code (openai + anthropic SDKs
against a loopback server), serially and under xdist; replay derives the same calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = """
import os
import anthropic
import pytest
from openai import OpenAI

URL = os.environ["WIRE_URL"]

def oai():
    return OpenAI(base_url=URL + "/proxy/v1", api_key="sk-test", max_retries=0)

def claude():
    return anthropic.Anthropic(base_url=URL, api_key="sk-ant-test", max_retries=0)

def chat(model, q):
    return oai().chat.completions.create(model=model, messages=[{"role": "user", "content": q}]
                                         ).choices[0].message.content

def chat_stream(model, q):
    parts = oai().chat.completions.create(model=model, stream=True,
        stream_options={"include_usage": True}, messages=[{"role": "user", "content": q}])
    return "".join(c.choices[0].delta.content or "" for c in parts if c.choices)

def responses(model, q):
    return oai().responses.create(model=model, input=q).output_text

def responses_stream(model, q):
    with oai().responses.stream(model=model, input=q) as stream:
        return stream.get_final_response().output_text

def messages(model, q):
    reply = claude().messages.create(model=model, max_tokens=50,
                                     messages=[{"role": "user", "content": q}])
    return reply.content[0].text

def messages_stream(model, q):
    with claude().messages.stream(model=model, max_tokens=50,
                                  messages=[{"role": "user", "content": q}]) as stream:
        return stream.get_final_text()

STYLES = [chat, chat_stream, responses, responses_stream, messages, messages_stream]

@pytest.mark.opsladder
@pytest.mark.parametrize("style", STYLES, ids=[s.__name__ for s in STYLES])
def test_api(style, opsladder_variant):
    model = opsladder_variant.model
    if style.__name__.startswith("messages"):
        model = model.replace("gpt-4.1", "claude-sonnet-4-5")
    oai().embeddings.create(model="text-embedding-3-small", input="q")
    assert style(model, "q7") == "answer:q7"
"""

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"

[tool.opsladder.variants]
prod = {model = "gpt-4.1-2025-04-14"}
next = {model = "gpt-4.1-2025-04-14", params = {t = 1}}

[tool.opsladder.prices]
"gpt-4.1" = {input = 2.0, output = 8.0}
"claude-sonnet-4-5" = {input = 3.0, output = 15.0}
"text-embedding-3-small" = {input = 0.02, output = 0.0}
"""

# (tokens_in, tokens_out) per style: the API's usage plus the embedding call's 4 input tokens
EXPECTED = {
    "chat": (16, 3), "chat_stream": (16, 3), "responses": (13, 2),
    "responses_stream": (13, 2), "messages": (11, 5), "messages_stream": (11, 5),
}  # fmt: skip


def _by_case(doc: dict) -> dict[str, dict]:
    return {c["case_id"].split("[")[1][:-1]: c for c in doc["cases"]}


def test_tokens_and_cost_from_recorded_traffic_serial_and_xdist(
    pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=TESTS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.runpytest("--opsladder-mode=record", "-q").assert_outcomes(passed=6)
    pytester.runpytest("-q").assert_outcomes(passed=6)  # replay: offline, from the cassettes
    for xdist in ([], ["-n", "2"]):
        result = pytester.runpytest("--opsladder-shadow", *xdist)
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        doc = json.loads((Path(pytester.path) / "reports" / "results.json").read_text())
        assert "no price" not in result.stdout.str()
        for style, case in _by_case(doc).items():
            for side in ("baseline", "candidate"):
                metrics = case[side]["runs"][0]["metrics"]
                assert (metrics["tokens_in"], metrics["tokens_out"]) == EXPECTED[style], style
                assert metrics["cost"] > 0
                assert metrics["llm_calls"] == 2
        tested = {m["name"]: m["n"] for m in doc["metrics"] if m.get("n") is not None}
        assert not [name for name in tested if name.startswith("http_")]
