"""Stale cassettes: what changed since recording is reported, in the run and the summary."""

from __future__ import annotations

import json
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


OPENAI_CONFTEST = """
from pytest_opsladder.capture.variant import Variant

def pytest_opsladder_variants():
    return [Variant("prod", model="demo-model")]
"""

OPENAI_TEST = """
import openai

def test_agent(opsladder_run):
    client = openai.OpenAI(base_url={url!r}, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(
        model="demo-model", messages=[{{"role": "user", "content": "hi"}}]
    )
    opsladder_run.output = reply.choices[0].message.content
"""


def _pretend_recorded_with(pytester: pytest.Pytester, **versions: str) -> None:
    """Rewrite the cassette's recorded SDK versions (what an older install would have written)."""
    from pytest_opsladder.cassette import files

    (path,) = [p for p in pytester.path.rglob("*.json") if "cassettes" in p.parts]
    envelope = files.load_envelope(path)
    envelope["run"]["manifest"]["packages"].update(versions)
    for item in envelope["run"]["http"]:
        agent = item["request"]["headers"]["user-agent"]
        item["request"]["headers"]["user-agent"] = [
            a.replace(a.split(" ")[-1], versions["openai"]) if "OpenAI" in a else a for a in agent
        ]
    files.atomic_write_text(path, json.dumps(envelope))


@pytest.mark.parametrize(
    ("ini", "stale", "xdist"),
    [
        ("", False, []),
        ("opsladder_stale_sdk = minor\n", True, []),
        ("opsladder_stale_sdk = minor\n", True, ["-n", "2"]),
        ("opsladder_stale_sdk = major\n", False, []),
    ],
)
def test_newer_minor_sdk_releases_are_not_stale_under_the_default(
    pytester: pytest.Pytester, llm_server: LLMServer, ini: str, stale: bool, xdist: list[str]
) -> None:
    import openai

    major = openai.__version__.split(".")[0]
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n" + ini)
    pytester.makeconftest(OPENAI_CONFTEST)
    pytester.makepyfile(test_agent=OPENAI_TEST.format(url=llm_server.url + "/v1"))
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    # recorded under an older minor openai, and an anthropic the run never called through
    _pretend_recorded_with(pytester, openai=f"{major}.0.1", anthropic="0.0.1", httpx="0.1.0")
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    if stale:
        result.stdout.fnmatch_lines(
            ["*1 stale cassette(s)*", f"stale: *openai: '{major}.0.1' -> *"]
        )
    else:
        result.stdout.no_fnmatch_line("*stale cassette*")
    result.stdout.no_fnmatch_line("*anthropic*")


def test_a_major_sdk_release_is_stale_and_a_bad_level_is_a_usage_error(
    pytester: pytest.Pytester, llm_server: LLMServer
) -> None:
    import openai

    major = int(openai.__version__.split(".")[0])
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n")
    pytester.makeconftest(OPENAI_CONFTEST)
    pytester.makepyfile(test_agent=OPENAI_TEST.format(url=llm_server.url + "/v1"))
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    _pretend_recorded_with(pytester, openai=f"{major - 1}.9.0")
    pytester.runpytest().stdout.fnmatch_lines(["*openai: '*' -> *(major change)*"])
    pytester.makeini("[pytest]\nopsladder_baseline = prod\nopsladder_stale_sdk = patch\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*opsladder_stale_sdk = 'patch' is not a valid level*'major'*"])
