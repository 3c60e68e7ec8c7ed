"""Shadow cases whose test fails or skips in setup count as pytest reports them.

Before: a fixture that failed before the run's fixture was reached (listed first, or
module-scoped) dropped the case from the comparison without a word, and with every case gone
the verdict told the user to mark and record tests that were marked and recorded; a fixture
that skipped (after the run had begun) made the case a regression, 'Skipped: no GPU', while
pytest reported it skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

CONFTEST = """
import os
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]

def _broken(variant):
    return os.environ.get("BREAK") == "1" and variant.name == "next"

@pytest.fixture
def database(opsladder_variant):
    if _broken(opsladder_variant):
        raise RuntimeError("the candidate's database is down")

@pytest.fixture
def gpu(opsladder_variant):
    if _broken(opsladder_variant):
        pytest.skip("no GPU for the candidate")

@pytest.fixture(scope="module")
def cluster(pytestconfig):
    if os.environ.get("BREAK") == "1" and pytestconfig.getoption("opsladder_shadow"):
        raise RuntimeError("cluster unreachable")
"""

TESTS = """
import pytest

@pytest.mark.parametrize("i", range(3))
def test_database_first(database, opsladder_run, i):
    opsladder_run.output = i

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(2))
def test_gpu(gpu, i):
    pass
"""

CLUSTER_TESTS = """
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(2))
def test_on_the_cluster(cluster, i):
    pass
"""


@pytest.fixture
def recorded(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS, test_cluster=CLUSTER_TESTS)
    monkeypatch.delenv("BREAK", raising=False)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=7)
    monkeypatch.setenv("BREAK", "1")
    return pytester


@XDIST
def test_setup_failures_and_skips_count_as_pytest_reports_them(
    recorded: pytest.Pytester, xdist: list[str]
) -> None:
    result = recorded.runpytest("--opsladder-shadow", *xdist)
    result.assert_outcomes(errors=5, skipped=2, passed=1)  # the gate passes: inconclusive
    result.stdout.no_fnmatch_line("*no opsladder case ran*")
    doc = json.loads((Path(recorded.path) / "reports" / "results.json").read_text())
    # a function fixture that failed before the run began: a failed candidate, as when the
    # run began first (a marked test)
    regressed = {c["case_id"]: c["reason"] for c in doc["regressed_cases"]}
    assert regressed == {
        f"test_agent.py::test_database_first[{i}]": (
            "RuntimeError: the candidate's database is down"
        )
        for i in range(3)
    }
    lost = doc["cases_lost"]
    for i in range(2):  # skipped by a fixture: not observed, a lost pair, never a regression
        assert lost[f"test_agent.py::test_gpu[{i}]"] == (
            "skipped by the candidate's test: Skipped: no GPU for the candidate"
        )
        # a module fixture failed: the candidate was never chosen, let alone observed
        assert lost[f"test_cluster.py::test_on_the_cluster[{i}]"] == (
            "its test errored in setup before its run began: RuntimeError: cluster unreachable"
        )
    assert doc["verdict"] == "inconclusive"
    assert "4 case(s) lost" in doc["verdict_reason"]


def test_every_case_failing_in_setup_is_not_told_to_record(recorded: pytest.Pytester) -> None:
    result = recorded.runpytest("--opsladder-shadow", "test_cluster.py")
    result.assert_outcomes(errors=2, passed=1)
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*2 case(s) lost*errored in setup*"])
    result.stdout.no_fnmatch_line("*mark tests with @pytest.mark.opsladder*")
    result.stdout.no_fnmatch_line("*Record a baseline first*")
