"""Ladder level 0 through pytest: record, replay, and the summary line, with and without xdist."""

from __future__ import annotations

import pytest

XDIST = [[], ["-n", "2"]]

AGENT_TEST = """
import pytest
from pytest_opsladder import tool, decision

CALLS = []

@tool
def lookup(x: int) -> dict:
    CALLS.append(x)
    return {"x": x, "sq": x * x}

@pytest.mark.opsladder
def test_marked():
    assert lookup(3)["sq"] == 9
    decision("route", "fast", ["fast", "slow"], "small input")

def test_fixture(opsladder_run):
    opsladder_run.output = lookup(4)

def test_executions_in_this_process():
    import json, os
    with open(os.environ["CALLS_FILE"], "a") as fh:
        fh.write(json.dumps(CALLS) + "\\n")
"""


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_record_then_replay_never_executes_tools(
    pytester: pytest.Pytester, xdist: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_agent=AGENT_TEST)
    calls = pytester.path / "calls.txt"
    monkeypatch.setenv("CALLS_FILE", str(calls))
    recorded = pytester.runpytest("--opsladder-mode=record", "-p", "no:randomly", *xdist)
    recorded.assert_outcomes(passed=3)
    recorded.stdout.fnmatch_lines(["*opsladder runs: 2 recorded, 0 replayed, 0 incomplete*"])
    assert (pytester.path / "cassettes/opsladder/test_agent/test_marked/baseline.json").is_file()
    calls.unlink()
    replayed = pytester.runpytest(*xdist)
    replayed.assert_outcomes(passed=3)
    replayed.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 2 replayed, 0 incomplete*"])
    # the tools were replayed, never executed: every process saw an empty list of calls
    assert set(calls.read_text().split()) == {"[]"}


def test_replay_without_cassette_says_how_to_record(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=AGENT_TEST)
    result = pytester.runpytest("-k", "marked")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cassette for case*--opsladder-mode=record*"])


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["*--opsladder-mode=MODE*", "*--opsladder-record-mode=RECORD_MODE*", "*--opsladder-shadow*"]
    )


def test_invalid_mode_is_a_usage_error_listing_valid_modes(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--opsladder-mode=playback")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*'playback' is not a valid opsladder mode*replay, record, shadow*"]
    )
