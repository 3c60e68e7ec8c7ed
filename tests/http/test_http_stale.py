"""Stale cassettes: what changed since recording is reported, in the run and the summary."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from http_helpers import run_in
from llm_servers import LLMServer

from pytest_opsladder.capture.tools import tools_schema_hash
from pytest_opsladder.capture.variant import Variant
from pytest_opsladder.http.stale import cassette_changes, plan_for_stale
from pytest_opsladder.modes import Mode, RecordMode


def test_a_changed_model_and_prompt_make_the_replayed_run_stale(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.json"

    def agent() -> int:
        with httpx.Client() as client:
            return client.get(llm_server.url + "/x").status_code

    old = Variant("prod", model="m1", prompt="Be brief.")
    run_in(path, agent, Mode.RECORD, variant=old)
    assert run_in(path, agent, variant=old).extra.get("stale") is None
    new = Variant("prod", model="m2", prompt="Be very brief.")
    changed = run_in(path, agent, variant=new).extra["stale"]
    assert changed[0] == "model: 'm1' -> 'm2'"
    assert changed[1].startswith("prompt_hash: ")
    assert cassette_changes(path, new, None)[:2] == changed[:2]
    assert cassette_changes(tmp_path / "absent.json", new, None) == []


def test_rerecord_stale_switches_only_stale_cassettes_to_record(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    def agent() -> int:
        with httpx.Client() as client:
            return client.get(llm_server.url + "/x").status_code

    fresh, stale = tmp_path / "fresh.json", tmp_path / "stale.json"
    old, new = Variant("prod", model="m1"), Variant("prod", model="m2")
    run_in(fresh, agent, Mode.RECORD, variant=new)
    run_in(stale, agent, Mode.RECORD, variant=old)
    keep = (Mode.REPLAY, RecordMode.NONE)
    tools = tools_schema_hash([])  # the schemas of the tools these runs called: none
    assert plan_for_stale(True, fresh, new, tools, *keep) == keep
    assert plan_for_stale(True, stale, new, tools, *keep) == (Mode.RECORD, RecordMode.ALL)
    assert plan_for_stale(False, stale, new, tools, *keep) == keep
    assert plan_for_stale(True, stale, new, tools, Mode.SHADOW, RecordMode.NONE)[0] is Mode.SHADOW
    mode, record_mode = plan_for_stale(True, stale, new, tools, *keep)
    rerecorded = run_in(stale, agent, mode, record_mode, variant=new)
    assert rerecorded.extra.get("stale") is None
    assert cassette_changes(stale, new, tools) == []


CONFTEST = """
from pytest_opsladder.capture.variant import Variant

def pytest_opsladder_variants():
    return [Variant("prod", model={model!r})]
"""

TEST_FILE = """
import httpx

def test_agent(opsladder_run):
    with httpx.Client() as client:
        opsladder_run.output = client.get({url!r}).status_code
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_the_terminal_summary_lists_stale_cassettes_with_what_changed(
    pytester: pytest.Pytester, llm_server: LLMServer, xdist: list[str]
) -> None:
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n")
    pytester.makepyfile(test_agent=TEST_FILE.format(url=llm_server.url + "/x"))
    pytester.makeconftest(CONFTEST.format(model="m1"))
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    pytester.makeconftest(CONFTEST.format(model="m2"))
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 stale cassette(s)*",
            "stale: *test_agent*model: 'm1' -> 'm2'*",
            "*--opsladder-rerecord-stale*",
        ]
    )
