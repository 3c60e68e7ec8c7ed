"""A test whose fixture fails in teardown, recorded as a baseline: the cassette says the test
errored, so the same error on the candidate's side is no regression, and a re-record that now
fails in teardown does not replace a baseline whose test passed.

Before, the run was written by its own fixture's teardown, before the user's fixture failed:
the baseline cassette said `passed`, and shadow mode counted every such case as passed on the
baseline and failed on the candidate (a regression the candidate never made)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = [[], ["-n", "2"]]

CONFTEST = """
import os
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]

@pytest.fixture
def workspace():
    yield {}
    if os.environ.get("BROKEN_CLEANUP"):
        raise RuntimeError("cleanup failed")
"""

TESTS = """
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(12))
def test_case(opsladder_run, workspace, i):
    opsladder_run.output = {"i": i}
    assert i >= 0
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    return pytester


def _outcomes(root: Path, name: str) -> list[dict]:
    runs = [json.loads(p.read_text())["run"] for p in sorted(root.rglob(name))]
    return [run["extra"]["test_outcome"] for run in runs]


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_a_teardown_error_in_the_baseline_is_recorded_and_is_no_regression(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    monkeypatch.setenv("BROKEN_CLEANUP", "1")
    project.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=12, errors=12)
    outcomes = _outcomes(Path(project.path), "prod.json")
    assert len(outcomes) == 12
    assert {(o["outcome"], o["phase"]) for o in outcomes} == {("error", "teardown")}
    assert {o["message"] for o in outcomes} == {"RuntimeError: cleanup failed"}
    result = project.runpytest("--opsladder-shadow", *xdist)
    doc = json.loads((Path(project.path) / "reports" / "results.json").read_text())
    assert doc["regressed_cases"] == []
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    assert pass_rate["baseline_summary"]["mean"] == 0.0
    result.stdout.no_fnmatch_line("*regressed cases*")


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_a_rerecord_that_fails_in_teardown_keeps_the_passing_baseline(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    project.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=12)
    monkeypatch.setenv("BROKEN_CLEANUP", "1")
    result = project.runpytest("--opsladder-mode=record", "--opsladder-record-mode=all", *xdist)
    result.assert_outcomes(passed=12, errors=12)
    root = Path(project.path)
    assert {o["outcome"] for o in _outcomes(root, "prod.json")} == {"passed"}
    kept = _outcomes(root, "prod.error.json")
    assert len(kept) == 12
    assert {(o["outcome"], o["phase"]) for o in kept} == {("error", "teardown")}
