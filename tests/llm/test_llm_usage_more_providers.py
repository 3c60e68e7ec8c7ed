"""LLM usage read from recorded traffic beyond OpenAI and Anthropic: Gemini (google-genai),
Amazon Bedrock (boto3: Converse, ConverseStream, InvokeModel with an Anthropic body), Ollama's
native API (the ollama client: JSON and NDJSON streams) and Cohere v2 (the cohere client),
each through its real SDK against a loopback server, in plain pytest tests with assertions.

Without a provider for them the gate saw no tokens and no cost for these agents (the runs'
usage missing, their cost metric inconclusive); now results.json has each call's tokens and
cost, recorded, replayed offline and shadowed (serially and under xdist).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from more_wire_server import MoreWireServer

TESTS = """
import json, os
import pytest

URL = os.environ["WIRE_URL"]
GEMINI_KEY = "AIzaSyD-fake0123456789abcdefghijklmnopq"
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"

def gemini_client():
    from google import genai
    from google.genai import types
    return genai.Client(api_key=GEMINI_KEY, http_options=types.HttpOptions(base_url=URL))

def bedrock():
    import boto3
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=URL,
                        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

def ollama_client():
    import ollama
    return ollama.Client(host=URL)

def cohere_client():
    import cohere
    return cohere.ClientV2(api_key="co-test-key", base_url=URL)

# a google-genai Client closes its HTTP client when it is collected: held while it is used
def gemini(q):
    client = gemini_client()
    return client.models.generate_content(model="gemini-2.5-flash", contents=q).text

def gemini_stream(q):
    client = gemini_client()
    parts = client.models.generate_content_stream(model="gemini-2.5-flash", contents=q)
    return "".join(p.text or "" for p in parts)

def converse(q):
    reply = bedrock().converse(modelId=BEDROCK_MODEL,
                               messages=[{"role": "user", "content": [{"text": q}]}])
    return reply["output"]["message"]["content"][0]["text"]

def converse_stream(q):
    reply = bedrock().converse_stream(modelId=BEDROCK_MODEL,
                                      messages=[{"role": "user", "content": [{"text": q}]}])
    return "".join(e["contentBlockDelta"]["delta"]["text"] for e in reply["stream"]
                   if "contentBlockDelta" in e)

def invoke(q):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
            "messages": [{"role": "user", "content": q}]}
    reply = bedrock().invoke_model(modelId=BEDROCK_MODEL, body=json.dumps(body))
    return json.loads(reply["body"].read())["content"][0]["text"]

def ollama_chat(q):
    return ollama_client().chat(model="llama3.2",
                                messages=[{"role": "user", "content": q}]).message.content

def ollama_stream(q):
    parts = ollama_client().chat(model="llama3.2", stream=True,
                                 messages=[{"role": "user", "content": q}])
    return "".join(p.message.content for p in parts)

def ollama_generate(q):
    return ollama_client().generate(model="llama3.2", prompt=q).response

def cohere_chat(q):
    reply = cohere_client().chat(model="command-a-03-2025",
                                 messages=[{"role": "user", "content": q}])
    return reply.message.content[0].text

def cohere_stream(q):
    events = cohere_client().chat_stream(model="command-a-03-2025",
                                         messages=[{"role": "user", "content": q}])
    return "".join(e.delta.message.content.text for e in events if e.type == "content-delta")

def claude_vertex(q):
    from anthropic import AnthropicVertex
    client = AnthropicVertex(region="us-east5", project_id="p", access_token="ya29.test",
                             base_url=URL + "/v1")
    reply = client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=20,
                                   messages=[{"role": "user", "content": q}])
    return reply.content[0].text

STYLES = [gemini, gemini_stream, converse, converse_stream, invoke, ollama_chat,
          ollama_stream, ollama_generate, cohere_chat, cohere_stream, claude_vertex]

@pytest.mark.opsladder
@pytest.mark.parametrize("style", STYLES, ids=[s.__name__ for s in STYLES])
def test_api(style):
    assert style("q7") == "answer:q7"
"""

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"

[tool.opsladder.variants]
prod = {model = "m"}
next = {model = "m", params = {t = 1}}

[tool.opsladder.prices]
"gemini-2.5-flash" = {input = 0.3, output = 2.5}
"anthropic.claude-3-haiku-20240307-v1:0" = {input = 0.25, output = 1.25}
"llama3.2" = {input = 0.01, output = 0.01}
"command-a-03-2025" = {input = 2.5, output = 10.0}
"claude-sonnet-4-5" = {input = 3.0, output = 15.0}
"""

# (tokens in, tokens out) each style's API reports: Gemini's thinking tokens are output;
# Cohere's tokens (not its billed units) are what the model read
EXPECTED = {
    "gemini": (7, 5), "gemini_stream": (7, 5), "converse": (9, 4), "converse_stream": (9, 4),
    "invoke": (11, 5), "ollama_chat": (12, 6), "ollama_stream": (12, 6),
    "ollama_generate": (12, 6), "cohere_chat": (70, 2), "cohere_stream": (70, 2),
    "claude_vertex": (11, 5),
}  # fmt: skip
MODELS = {"gemini": "gemini-2.5-flash", "converse": "anthropic.claude-3-haiku-20240307-v1:0",
          "invoke": "anthropic.claude-3-haiku-20240307-v1:0", "ollama": "llama3.2",
          "cohere": "command-a-03-2025", "claude": "claude-sonnet-4-5-20250929"}  # fmt: skip


@pytest.fixture(scope="module")
def wire() -> Iterator[MoreWireServer]:
    with MoreWireServer() as server:
        yield server


def _by_case(doc: dict) -> dict[str, dict]:
    return {c["case_id"].split("[")[1][:-1]: c for c in doc["cases"]}


def _llm_calls(cassette: Path) -> list[dict]:
    run = json.loads(cassette.read_text())["run"]
    return [e["data"] for e in run["events"] if e["kind"] == "llm_call"]


def test_usage_of_gemini_bedrock_ollama_cohere_sdks_recorded_replayed_and_gated(
    pytester: pytest.Pytester, wire: MoreWireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=TESTS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    # in subprocesses: an in-process run drops the modules it imported (pytester's snapshot), so
    # the next one imported botocore anew, under the classes vcrpy patched at its first import
    run = pytester.runpytest_subprocess
    run("--opsladder-mode=record", "-q").assert_outcomes(passed=11)
    cassettes = sorted(Path(pytester.path).rglob("prod.json"))
    assert len(cassettes) == 11
    for cassette in cassettes:
        text = cassette.read_text()
        assert "AIzaSyD-fake" not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text
        style = cassette.parent.name.removeprefix("test_api_").rsplit("-", 1)[0]
        (call,) = _llm_calls(cassette)
        assert call["provider"] in ("gemini", "bedrock", "ollama", "cohere", "anthropic"), call
        assert (call["usage"]["input_tokens"], call["usage"]["output_tokens"]) == EXPECTED[style], (
            style,
            call,
        )
        assert call["model"] == MODELS[style.split("_")[0]], call
        assert "parse_error" not in call, call

    hits = len(wire.hits)
    run("-q").assert_outcomes(passed=11)  # replay, from the cassettes
    assert wire.hits[hits:] == [], "replay called the model"

    for xdist in ([], ["-n", "2"]):
        result = run("--opsladder-shadow", "--opsladder-candidate=next", *xdist)
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        assert "no price" not in result.stdout.str()
        doc = json.loads((Path(pytester.path) / "reports" / "results.json").read_text())
        cases = _by_case(doc)
        assert set(cases) == set(EXPECTED)
        for style, case in cases.items():
            for side in ("baseline", "candidate"):
                metrics = case[side]["runs"][0]["metrics"]
                assert (metrics["tokens_in"], metrics["tokens_out"]) == EXPECTED[style], style
                assert metrics["cost"] > 0, (style, side)
                assert metrics["llm_calls"] == 1


ASYNC_TESTS = """
import os
import pytest

URL = os.environ["WIRE_URL"]

def gemini_client():
    from google import genai
    from google.genai import types
    return genai.Client(api_key="AIzaSyD-fake0123456789abcdefghijklmnopq",
                        http_options=types.HttpOptions(base_url=URL))

async def gemini_async(q):
    client = gemini_client()
    return (await client.aio.models.generate_content(model="gemini-2.5-flash", contents=q)).text

async def gemini_async_stream(q):  # google-genai streams through aiohttp when it is installed
    client = gemini_client()
    parts = await client.aio.models.generate_content_stream(model="gemini-2.5-flash", contents=q)
    return "".join([p.text or "" async for p in parts])

async def ollama_async_stream(q):
    import ollama
    parts = await ollama.AsyncClient(host=URL).chat(model="llama3.2", stream=True,
                                                    messages=[{"role": "user", "content": q}])
    return "".join([p.message.content async for p in parts])

async def cohere_async_stream(q):
    import cohere
    events = cohere.AsyncClientV2(api_key="co-test", base_url=URL).chat_stream(
        model="command-a-03-2025", messages=[{"role": "user", "content": q}])
    return "".join([e.delta.message.content.text async for e in events
                    if e.type == "content-delta"])

STYLES = [gemini_async, gemini_async_stream, ollama_async_stream, cohere_async_stream]

@pytest.mark.asyncio
@pytest.mark.opsladder
@pytest.mark.parametrize("style", STYLES, ids=[s.__name__ for s in STYLES])
async def test_api(style):
    assert await style("q7") == "answer:q7"
"""


def test_usage_of_the_async_clients_including_a_stream_recorded_through_aiohttp(
    pytester: pytest.Pytester, wire: MoreWireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """google-genai's async client streams through aiohttp, which stores a stream that came
    at once (the connection already released) as one body: its SSE events are read from that
    body (the usage was missing before, for any provider streamed over aiohttp), and no time
    to first token is made up for it."""
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=ASYNC_TESTS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    run = pytester.runpytest_subprocess
    run("--opsladder-mode=record", "-q").assert_outcomes(passed=4)
    expected = {"gemini_async": (7, 5), "gemini_async_stream": (7, 5),
                "ollama_async_stream": (12, 6), "cohere_async_stream": (70, 2)}  # fmt: skip
    for cassette in sorted(Path(pytester.path).rglob("prod.json")):
        style = cassette.parent.name.removeprefix("test_api_").rsplit("-", 1)[0]
        (call,) = _llm_calls(cassette)
        assert (call["usage"]["input_tokens"], call["usage"]["output_tokens"]) == expected[style], (
            style,
            call,
        )
        assert "parse_error" not in call, call
        if style == "gemini_async_stream":
            assert call["streamed"]
            (http,) = json.loads(cassette.read_text())["run"]["http"]
            if "chunks" not in http["response"]:  # a reply that came at once is stored whole
                assert call.get("ttft_s") is None
    hits = len(wire.hits)
    run("-q").assert_outcomes(passed=4)
    assert wire.hits[hits:] == [], "replay called the model"
    result = run("--opsladder-shadow", "--opsladder-candidate=next")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    doc = json.loads((Path(pytester.path) / "reports" / "results.json").read_text())
    for style, case in _by_case(doc).items():
        metrics = case["candidate"]["runs"][0]["metrics"]
        assert (metrics["tokens_in"], metrics["tokens_out"]) == expected[style], style
