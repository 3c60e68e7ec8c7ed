"""An async agent that streams through the real AsyncOpenAI client, called from sync tests (the
plugin awaits it on its own event loop): replay ends the process cleanly. The replayed stream's
chunks were an async generator the SDK left suspended, finalized at exit on a loop the plugin
never closed: 'Task was destroyed but it is pending!' after every replay of such a suite."""

from __future__ import annotations

import pytest

TESTS = """
import os
import pytest
from openai import AsyncOpenAI

@pytest.fixture
def opsladder_agent(opsladder_variant):
    client = AsyncOpenAI(base_url=os.environ["WIRE_URL"] + "/v1", api_key="sk-test",
                         max_retries=0)
    async def agent(q):
        stream = await client.chat.completions.create(
            model=opsladder_variant.model, stream=True,
            messages=[{"role": "user", "content": q}])
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    return agent

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(6))
def test_sync_over_async(opsladder_agent, i):
    assert opsladder_agent(f"q{i}") == f"answer:q{i}"
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_replaying_an_async_streaming_agent_from_sync_tests_exits_cleanly(
    pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=TESTS)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.runpytest_subprocess("--opsladder-mode=record").assert_outcomes(passed=6)
    monkeypatch.setenv("WIRE_URL", "http://127.0.0.1:9")  # replay: the model is not reachable
    result = pytester.runpytest_subprocess("-W", "error", *xdist)
    result.assert_outcomes(passed=6)
    output = result.stdout.str() + result.stderr.str()
    assert "Task was destroyed" not in output
    assert "Exception ignored" not in output
