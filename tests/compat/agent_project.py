"""The small agent project the compatibility matrix runs: written the way users write one.

The real openai SDK (sync and async streaming) against a loopback model server, a wrapped tool,
plain tests with assertions, two nightmare cases, and one module-scoped autouse fixture. In
replay mode the model URL points where nothing listens, so a replay that reached the network
would fail.
"""

from __future__ import annotations

from pathlib import Path

CONFTEST = '''
from contextlib import ExitStack

import pytest

from agentlib import make_agent
from pytest_opsladder import Variant
from pytest_opsladder.demo.model_server import serve_model
from pytest_opsladder.plugin import SETTINGS_KEY

OFFLINE_URL = "http://127.0.0.1:9/v1"  # nothing listens here: replay must not reach the model
_SERVER = ExitStack()


@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_variants():
    system = "Write a short post."
    return [Variant("prod", model="writer-1", params={"system": system}),
            Variant("next", model="writer-2", params={"system": system})]


@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_build_agent(config, variant, case, workdir):
    return make_agent(variant, _model_url(config))


def _model_url(config):
    if config.stash[SETTINGS_KEY].mode.value == "replay":
        return OFFLINE_URL
    if not hasattr(config, "_agent_model_url"):
        config._agent_model_url = _SERVER.enter_context(serve_model())
    return config._agent_model_url


def pytest_unconfigure(config):
    _SERVER.close()


@pytest.fixture(scope="session")
def model_url(pytestconfig):
    return _model_url(pytestconfig)


@pytest.fixture(scope="module", autouse=True)
def module_resource(request):
    """One module-scoped autouse fixture: it must resolve for nightmare case items too."""
    yield {"module": request.module.__name__}


@pytest.fixture
def opsladder_agent(opsladder_variant, model_url):
    return make_agent(opsladder_variant, model_url)
'''

AGENTLIB = """
import openai

from pytest_opsladder import tool


@tool
def word_count(text: str) -> int:
    return len(text.split())


def _messages(variant, topic):
    return [{"role": "system", "content": variant.params["system"]},
            {"role": "user", "content": topic}]


def make_agent(variant, base_url):
    def agent(case_input):
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as client:
            reply = client.chat.completions.create(
                model=variant.model, messages=_messages(variant, case_input["topic"]))
        text = reply.choices[0].message.content
        return {"summary": text, "words": word_count(text)}

    return agent


async def stream_summary(variant, base_url, topic):
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model=variant.model, messages=_messages(variant, topic), stream=True)
        return [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
"""

TEST_AGENT = """
import pytest

from agentlib import stream_summary


@pytest.mark.opsladder
def test_summary_has_words(opsladder_agent, opsladder_run):
    out = opsladder_agent({"topic": "release notes for the billing service"})
    opsladder_run.output = out
    assert out["words"] > 3


@pytest.mark.opsladder
@pytest.mark.parametrize("topic", ["refund policy", "an outage report"])
def test_summary_per_topic(opsladder_agent, opsladder_run, topic):
    out = opsladder_agent({"topic": topic})
    opsladder_run.output = out
    assert out["summary"]


@pytest.mark.opsladder
@pytest.mark.asyncio
async def test_streamed_summary(opsladder_run, opsladder_variant, model_url):
    parts = await stream_summary(opsladder_variant, model_url, "the weekly digest")
    opsladder_run.output = "".join(parts)
    assert len(parts) > 1, "the stream came back as one block"


def test_plain(module_resource):
    assert module_resource["module"] == "test_agent"
"""

# Only in the pytest-recording cell: a plain test recorded by pytest-recording, beside ours.
TEST_VCR = """
import httpx
import pytest


@pytest.fixture(scope="module")
def vcr_config():
    return {"match_on": ["method", "path"]}


@pytest.mark.vcr
def test_plain_http_through_pytest_recording(model_url):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    reply = httpx.post(model_url + "/chat/completions", json=body)
    assert reply.status_code == 200
"""

CASES = {
    "billing.yaml": "id: billing-summary\ninput: {topic: billing changes in March}\n",
    "outage.yaml": "id: outage-summary\ninput: {topic: the outage of the login service}\n",
}
CHECKS = (
    "checks:\n"
    "  - tool_trajectory: {mode: strict, calls: [word_count]}\n"
    "  - json_schema: {schema: {type: object, required: [summary, words]}}\n"
)

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"
addopts = ["--strict-markers"]
filterwarnings = ["error"]
asyncio_default_fixture_loop_scope = "function"
"""


def write_project(root: Path, *, with_vcr: bool) -> None:
    """The project's files under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "conftest.py").write_text(CONFTEST)
    (root / "agentlib.py").write_text(AGENTLIB)
    (root / "test_agent.py").write_text(TEST_AGENT)
    (root / "pyproject.toml").write_text(PYPROJECT)
    if with_vcr:
        (root / "test_vcr.py").write_text(TEST_VCR)
    cases = root / "nightmare_set"
    cases.mkdir(exist_ok=True)
    for name, text in CASES.items():
        (cases / name).write_text(text + CHECKS)
