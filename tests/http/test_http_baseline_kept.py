"""Never lose a good baseline (issue 14): the three loss cases keep the cassette byte-identical.

The agent is a plain pytest test calling the real openai SDK against a loopback server; the
model then becomes unreachable (its port closed) and the case is recorded again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_servers import LLMServer

AGENT = """
import os
import openai

def ask():
    client = openai.OpenAI(base_url=os.environ["LOSS_URL"] + "/v1", api_key="sk-test",
                           max_retries=0, timeout=5)
    reply = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hi"}])
    return reply.choices[0].message.content

def test_agent(opsladder_run):
    opsladder_run.output = ask()

def test_agent_with_fallback(opsladder_run):
    try:
        opsladder_run.output = ask()
    except openai.APIConnectionError:
        opsladder_run.output = "sorry, try later"
"""

QUIET = ("--tb=line", "-p", "no:cacheprovider")
CONFTEST = """
from pytest_opsladder.capture.variant import Variant

def pytest_opsladder_variants():
    return [Variant("prod", model={model!r})]
"""


@pytest.fixture
def recorded(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> dict[str, bytes]:
    """Both cases recorded while the model answers; then the model goes away."""
    monkeypatch.setenv("LOSS_URL", llm_server.url)
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n")
    pytester.makeconftest(CONFTEST.format(model="m1"))
    pytester.makepyfile(test_agent=AGENT)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=2)
    llm_server.stop()
    return {p.name: p.read_bytes() for p in cassettes(pytester)}


def cassettes(pytester: pytest.Pytester) -> list[Path]:
    return sorted(pytester.path.glob("cassettes/**/*.json"))


def test_a_failed_re_record_never_replaces_a_good_cassette(
    pytester: pytest.Pytester, recorded: dict[str, bytes]
) -> None:
    """Record mode `all` (the agent errors, and the agent that falls back answers without the
    model), then --opsladder-rerecord-stale, both while the model is unreachable."""
    before = {p: p.read_bytes() for p in cassettes(pytester)}
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=all", *QUIET)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*2 good cassette(s) kept: the failed re-record is beside it*"])
    assert {p: p.read_bytes() for p in before} == before
    assert len(list(pytester.path.glob("cassettes/**/prod.error.json"))) == 2
    for error in pytester.path.glob("cassettes/**/prod.error.json"):
        error.unlink()
    pytester.makeconftest(CONFTEST.format(model="m2"))  # stale: the model changed
    result = pytester.runpytest("--opsladder-rerecord-stale", *QUIET)
    result.assert_outcomes(passed=1, failed=1)
    assert {p: p.read_bytes() for p in before} == before
    assert len(list(pytester.path.glob("cassettes/**/prod.error.json"))) == 2


def test_rewrite_never_replaces_the_baseline_with_a_failed_run(
    pytester: pytest.Pytester, recorded: dict[str, bytes]
) -> None:
    """Once asserted that rewrite replaced both good cassettes with these failed runs (an
    error, and an answer made without the model); a rewrite now keeps them, as `all` does,
    with the failed runs beside them."""
    before = {p: p.read_bytes() for p in cassettes(pytester)}
    result = pytester.runpytest(
        "--opsladder-mode=record", "--opsladder-record-mode=rewrite", *QUIET
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*2 good cassette(s) kept: the failed rewrite is beside it*"])
    assert {p: p.read_bytes() for p in before} == before
    assert len(list(pytester.path.glob("cassettes/**/prod.error.json"))) == 2


def test_a_run_judged_worse_is_used_by_moving_its_error_file_over_the_cassette(
    pytester: pytest.Pytester, recorded: dict[str, bytes]
) -> None:
    """A run that reached no server where the baseline did looks the same whether the agent no
    longer needs the model or the model was down: rewrite keeps the baseline as `all` does, and
    the documented way to take the new run anyway is to move its .error.json over it."""
    pytester.makepyfile(
        test_agent="""
def test_agent(opsladder_run):
    opsladder_run.output = "answered from the FAQ, no model needed"
"""
    )
    [path] = [p for p in cassettes(pytester) if p.parent.name == "test_agent"]
    before = path.read_bytes()
    result = pytester.runpytest(
        "--opsladder-mode=record", "--opsladder-record-mode=rewrite", *QUIET
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*(to use that run anyway, move it over the cassette)*"])
    assert path.read_bytes() == before
    path.with_name("prod.error.json").replace(path)
    pytester.runpytest(*QUIET).assert_outcomes(passed=1)  # replays the new run
    assert b"answered from the FAQ" in path.read_bytes()
