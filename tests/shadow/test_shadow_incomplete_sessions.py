"""A shadow session judges the suite only when the suite ran, serially and under xdist.

Before: under xdist a test file that failed to collect did not stop the other files, and the
gate scored them as the whole suite (serially pytest stops and no verdict is given); -x,
--maxfail and --sw scored the cases that had run as if they were all (a FAIL or a PASS on half
the suite), while under xdist the same -x gave no verdict at all; a -k or --lf selection was
scored without a word that it was one.

Now a file that fails to collect gives no verdict either way, naming the file; a session that
stopped before every selected case ran is inconclusive, saying how many did not run (each a
lost pair); a deliberate selection is scored on what it selected, and says it covers k of n.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

CONFTEST = """
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]
"""

# The candidate fails cases 10..19: on the whole suite (40 cases) a regression of 10.
TESTS = """
import os
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(40))
def test_case(opsladder_run, opsladder_variant, i):
    opsladder_run.output = {"i": i}
    if opsladder_variant.name == "next" and str(i) in os.environ.get("FAIL", "").split():
        assert False, "the candidate broke"
"""

FAIL_10_TO_19 = " ".join(str(i) for i in range(10, 20))


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    monkeypatch.delenv("FAIL", raising=False)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=40)
    return pytester


def _results(project: pytest.Pytester) -> dict:
    return json.loads((Path(project.path) / "reports" / "results.json").read_text())


def _reports(project: pytest.Pytester) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (Path(project.path) / "reports").iterdir()}


@XDIST
@pytest.mark.parametrize("keep_going", [[], ["--continue-on-collection-errors"]], ids=["", "cont"])
def test_a_file_that_fails_to_collect_gives_no_verdict_with_or_without_xdist(
    project: pytest.Pytester, xdist: list[str], keep_going: list[str]
) -> None:
    project.runpytest("--opsladder-shadow")
    before = _reports(project)
    project.makepyfile(test_broken="def test_broken(:\n    pass\n")
    result = project.runpytest("--opsladder-shadow", *keep_going, *xdist)
    result.stdout.fnmatch_lines(
        ["*no verdict: 1 file(s) could not be collected (test_broken.py)*left as they were*"]
    )
    result.stdout.no_fnmatch_line("*drift gate*")
    assert "opsladder::gate" not in result.stdout.str()
    assert result.ret != pytest.ExitCode.OK
    assert _reports(project) == before


def test_maxfail_stopping_the_session_is_inconclusive_saying_what_did_not_run(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL", FAIL_10_TO_19)
    result = project.runpytest("--opsladder-shadow", "--maxfail=10", "-p", "no:randomly")
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"  # the 20 that ran regressed by half: not the suite
    assert doc["verdict_reason"].startswith(
        "the session stopped before every selected case ran (stopping after 10 failures): "
        "20 of 40 selected case(s) did not run"
    )
    assert doc["cases_lost"]["test_agent.py::test_case[39]"] == (
        "did not run: stopping after 10 failures"
    )
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*20 of 40 selected case(s) did not run*"])


@XDIST
@pytest.mark.parametrize("stop", [["-x"], ["--sw"]], ids=["x", "sw"])
def test_x_and_stepwise_are_inconclusive_serially_and_under_xdist(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str], stop: list[str]
) -> None:
    monkeypatch.setenv("FAIL", "3")
    result = project.runpytest("--opsladder-shadow", *stop, "-p", "no:randomly", *xdist)
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"
    assert "selected case(s) did not run" in doc["verdict_reason"]
    assert any(why.startswith("did not run: ") for why in doc["cases_lost"].values())
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*of 40 selected case(s) did not run*"])


@XDIST
def test_a_k_selection_is_scored_and_says_it_covers_k_of_n_cases(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    result = project.runpytest("--opsladder-shadow", "-k", "not test_case[3", *xdist)
    doc = _results(project)
    assert doc["n_cases"] == 29  # 3, 30..39 deselected
    assert doc["verdict_reason"].endswith(
        " [this run covers 29 of 40 cases: 11 deselected (-k, -m, --deselect or --sw)]"
    )
    assert "did not run" not in doc["verdict_reason"]
    result.stdout.fnmatch_lines(["*drift gate*this run covers 29 of 40 cases*"])


def test_a_last_failed_rerun_says_it_covers_only_the_last_failures(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIL", "3 4")
    project.runpytest("--opsladder-shadow")
    project.runpytest("--opsladder-shadow", "--lf")
    doc = _results(project)
    assert doc["n_cases"] == 2
    assert doc["verdict_reason"].endswith(
        " [--lf: this run covers only the 2 case(s) picked from the last failures, not the "
        "whole suite]"
    )
