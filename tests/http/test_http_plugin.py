"""The HTTP recorder through pytest: record, replay, counts, --opsladder-fail-on-live, stale."""

from __future__ import annotations

import pytest
from llm_servers import LLMServer

XDIST = [[], ["-n", "2"]]

TEST_FILE = """
import openai
import pytest

URL = {url!r}


def ask(question):
    with openai.OpenAI(base_url=URL + "/v1", api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(
            model="m1", messages=[{{"role": "user", "content": question}}]
        )
    return reply.choices[0].message.content


@pytest.mark.parametrize("q", ["one", "two", "three"])
def test_agent(opsladder_run, q):
    opsladder_run.output = ask(q)
    assert opsladder_run.output
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, llm_server: LLMServer) -> pytest.Pytester:
    pytester.makepyfile(test_agent=TEST_FILE.format(url=llm_server.url))
    return pytester


@pytest.mark.parametrize("xdist", XDIST)
def test_record_then_replay_offline_with_counts_in_the_summary(
    suite: pytest.Pytester, llm_server: LLMServer, xdist: list[str]
) -> None:
    result = suite.runpytest("--opsladder-mode=record", *xdist)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*3 recorded*3 http recorded*"])
    llm_server.stop()
    result = suite.runpytest(*xdist)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*3 replayed*3 http replayed*"])


@pytest.mark.parametrize("xdist", XDIST)
def test_replay_blocks_unrecorded_calls(
    suite: pytest.Pytester, llm_server: LLMServer, xdist: list[str]
) -> None:
    suite.runpytest("--opsladder-mode=record", "-k", "one").assert_outcomes(passed=1)
    llm_server.stop()
    suite.makepyfile(test_agent=TEST_FILE.format(url=llm_server.url).replace("(q)", "(q + '!')"))
    result = suite.runpytest("-k", "one", *xdist)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HttpReplayMissError*", "*recorded 'one', requested 'one!'*"])
    result.stdout.fnmatch_lines(["*1 http blocked*"])


@pytest.mark.parametrize("xdist", XDIST)
def test_fail_on_live_turns_a_live_call_into_a_failure(
    suite: pytest.Pytester, llm_server: LLMServer, xdist: list[str]
) -> None:
    suite.makeconftest(
        "import pytest\n\n@pytest.fixture(scope='session')\n"
        "def opsladder_config():\n    return {'allowed_hosts': ['loopback']}\n"
    )
    suite.runpytest("--opsladder-mode=record", "-k", "one").assert_outcomes(passed=1)
    two_calls = TEST_FILE.replace("ask(q)", "[ask(q), ask('extra')]")
    suite.makepyfile(test_agent=two_calls.format(url=llm_server.url))
    result = suite.runpytest("-k", "one", *xdist)
    result.assert_outcomes(passed=1)  # 'extra' went out to the allowed loopback host
    result.stdout.fnmatch_lines(["*1 http live*1 http replayed*"])
    result = suite.runpytest("-k", "one", "--opsladder-fail-on-live", *xdist)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 live HTTP call(s) in run of case*one*"])


def test_help_lists_the_http_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--opsladder-fail-on-live*", "*--opsladder-rerecord-stale*"])
