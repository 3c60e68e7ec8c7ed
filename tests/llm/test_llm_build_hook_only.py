"""A project that defines only ``pytest_opsladder_build_agent`` (no ``opsladder_agent``
fixture) records, replays and shadows its cases, serially as concurrently.

The hook is documented as the way to "return the agent for ``variant``"; but the test items
only used the fixture, so such a project's every case errored with "no opsladder_agent
fixture" when recording, replaying or shadowing serially, and worked only under
``--opsladder-concurrency`` or ``--opsladder-workers``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from user_projects import ask_cases, write_project

CONFTEST = """
import os
import pytest
from openai import AsyncOpenAI, OpenAI
from pytest_opsladder import Variant

@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_variants():
    return [Variant("prod", model="gpt-4.1"), Variant("next", model="gpt-4.1-broken")]

def _messages(case_input):
    return [{"role": "user", "content": case_input["q"]}]

@pytest.hookimpl(optionalhook=True)
def pytest_opsladder_build_agent(config, variant, case, workdir):
    assert workdir.is_dir()
    url = os.environ["WIRE_URL"] + "/v1"
    if os.environ["AGENT"] == "async":
        async def agent(case_input):  # each call runs in its own event loop
            async with AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=0) as client:
                reply = await client.chat.completions.create(
                    model=variant.model, messages=_messages(case_input))
            return reply.choices[0].message.content
        return agent
    client = OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    def agent(case_input):
        reply = client.chat.completions.create(model=variant.model, messages=_messages(case_input))
        return reply.choices[0].message.content
    return agent
"""

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"
asyncio_default_fixture_loop_scope = "function"
"""
ASYNCIO_INI = '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
CASES = 6
SHADOW_MODES = {
    "serial": (),
    "threads": ("--opsladder-concurrency=2",),
    "processes": ("--opsladder-workers=2",),
    "xdist": ("-n", "2"),
}


def _per_case(pytester: pytest.Pytester) -> dict[str, tuple[Any, ...]]:
    doc = json.loads((pytester.path / "reports" / "results.json").read_text())
    return {
        case["case_id"]: (
            case["candidate"]["runs"][0]["output_text"],
            case["candidate"]["runs"][0]["metrics"]["llm_calls"],
            case["verdict"],
        )
        for case in doc["cases"]
    }


@pytest.mark.parametrize("agent", ["sync", "async"])
def test_a_project_with_only_the_build_hook_records_replays_and_shadows(
    pytester: pytest.Pytester, wire: Any, monkeypatch: pytest.MonkeyPatch, agent: str
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    monkeypatch.setenv("AGENT", agent)
    write_project(pytester, CONFTEST, PYPROJECT, ask_cases(CASES, check="'answer:'"))
    recorded = pytester.runpytest("nightmare_set", "--opsladder-mode=record")
    recorded.assert_outcomes(passed=CASES)
    cassette = pytester.path / "nightmare_set" / "cassettes" / "case-0" / "prod.json"
    assert "answer:q0" in cassette.read_text()
    monkeypatch.setenv("WIRE_URL", "http://127.0.0.1:9")  # replay never reaches a model
    pytester.runpytest("nightmare_set").assert_outcomes(passed=CASES)
    monkeypatch.setenv("WIRE_URL", wire.url)
    verdicts = {}
    for mode, args in SHADOW_MODES.items():
        result = pytester.runpytest("nightmare_set", "--opsladder-shadow",
                                    "--opsladder-candidate=next", *args)  # fmt: skip
        assert "no opsladder_agent fixture" not in result.stdout.str(), mode
        verdicts[mode] = _per_case(pytester)
    serial = verdicts["serial"]
    assert serial["case-0"] == ("wrong:q0", 1, "regressed")
    assert serial["case-5"] == ("answer:q5", 1, "unchanged")
    differ = {mode: found for mode, found in verdicts.items() if found != serial}
    assert differ == {}, (serial, differ)


NO_AGENT_HOOK = (
    "import pytest\n"
    "@pytest.hookimpl(optionalhook=True)\n"
    "def pytest_opsladder_build_agent(config, variant, case, workdir):\n"
    "    return None\n"
)


@pytest.mark.parametrize(
    ("conftest", "said"),
    [
        (
            NO_AGENT_HOOK,
            "*pytest_opsladder_build_agent returned NoneType for case 'refund'"
            " (variant 'baseline')*return a callable*or define the fixture*",
        ),
        (None, "*no opsladder_agent fixture*or implement the pytest_opsladder_build_agent*hook*"),
    ],
    ids=["hook-returns-none", "no-hook-no-fixture"],
)
def test_no_agent_to_run_is_a_usage_error_naming_the_case_and_the_fix(
    pytester: pytest.Pytester, conftest: str | None, said: str
) -> None:
    pytester.makefile(".toml", pyproject=ASYNCIO_INI)
    if conftest is not None:
        pytester.makeconftest(conftest)
    pytester.makepyfile(
        "import pytest\n"
        "@pytest.mark.opsladder(case='refund')\n"
        "def test_agent(opsladder_agent):\n"
        "    opsladder_agent('hi')\n"
    )
    result = pytester.runpytest("--opsladder-mode=record")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([said])
    assert "fixtures.py" not in result.stdout.str()  # the message, not a traceback of ours
