"""A shadow session that is interrupted (a test file that does not import, Ctrl-C) gives no
verdict on the part of the suite that ran, and leaves the last whole run's reports alone.

Before, the gate scored whatever had run: with a collection error, nothing, so results.json,
report.html and junit.xml were replaced by 'inconclusive: no case has both a baseline and a
candidate run, record a baseline first', the gate was counted as a passed test, and the user
was told to mark and record tests that were marked and recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = """
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]
"""

TESTS = """
import os
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(8))
def test_case(opsladder_run, opsladder_variant, i):
    if os.environ.get("STOP_AT") == str(i) and opsladder_variant.name == "next":
        raise KeyboardInterrupt
    opsladder_run.output = {"i": i}
"""


@pytest.fixture
def shadowed(pytester: pytest.Pytester) -> tuple[pytest.Pytester, dict[str, bytes]]:
    """A project whose last shadow run wrote its reports."""
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=8)
    pytester.runpytest("--opsladder-shadow").assert_outcomes(passed=9)
    reports = Path(pytester.path) / "reports"
    return pytester, {p.name: p.read_bytes() for p in reports.iterdir()}


def _unchanged(project: pytest.Pytester, before: dict[str, bytes]) -> None:
    reports = Path(project.path) / "reports"
    assert {p.name: p.read_bytes() for p in reports.iterdir()} == before


def test_a_collection_error_gives_no_verdict_and_keeps_the_reports(
    shadowed: tuple[pytest.Pytester, dict[str, bytes]],
) -> None:
    project, before = shadowed
    project.makepyfile(test_broken="def test_broken(:\n    pass\n")
    result = project.runpytest("--opsladder-shadow")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*no verdict: 1 file(s) could not be collected (test_broken.py), so the suite is "
            "incomplete (0 case(s) had run)*left as they were*"
        ]
    )
    result.stdout.no_fnmatch_line("*record a baseline*")
    result.stdout.no_fnmatch_line("*passed*")
    _unchanged(project, before)


def test_ctrl_c_during_the_candidate_runs_gives_no_verdict_and_keeps_the_reports(
    shadowed: tuple[pytest.Pytester, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, before = shadowed
    monkeypatch.setenv("STOP_AT", "3")
    # in a process of its own: an inline session hands the KeyboardInterrupt on to this one
    result = project.runpytest_subprocess("--opsladder-shadow", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*no verdict: the session was interrupted (3 case(s) had run)*"])
    result.stdout.no_fnmatch_line("*drift gate*")
    _unchanged(project, before)
