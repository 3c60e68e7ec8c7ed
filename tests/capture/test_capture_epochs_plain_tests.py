"""--opsladder-epochs K runs each recording test K times, as it runs each nightmare case: one
cassette per epoch (`<variant>.e<k>.json`), one case id across the epochs, K runs per case on
each side of the shadow comparison. Before, the option was ignored for plain pytest tests: one
run per test, and a results.json whose `epochs` claimed K."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = [[], ["-n", "2"]]

CONFTEST = """
import pytest
from pytest_opsladder import Variant, tool

@tool
def lookup(q: str) -> int:
    return len(q)

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]
"""

TESTS = """
import pytest
from pytest_opsladder import tool

@pytest.mark.opsladder
@pytest.mark.parametrize("q", ["a", "b c", "d/e[f]"])
def test_marked(opsladder_run, q):
    from conftest import lookup
    opsladder_run.output = lookup(q)
    assert opsladder_run.output == len(q)

class TestAgent:
    def test_fixture(self, opsladder_run):
        from conftest import lookup
        opsladder_run.output = lookup("xyz")

def test_plain():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    return pytester


def _runs(root: Path, pattern: str) -> list[dict]:
    return [json.loads(p.read_text())["run"] for p in sorted(root.rglob(pattern))]


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_epochs_repeat_each_recording_test(project: pytest.Pytester, xdist: list[str]) -> None:
    root = Path(project.path)
    result = project.runpytest("--opsladder-mode=record", "--opsladder-epochs", "3", *xdist)
    result.assert_outcomes(passed=13)  # 4 recording tests x 3 epochs, and the plain test once
    homes = sorted({p.parent for p in root.rglob("prod*.json")})
    assert len(homes) == 4  # one directory per test, every epoch in it
    for home in homes:
        names = sorted(p.name for p in home.iterdir())
        assert names == ["prod.e1.json", "prod.e2.json", "prod.json"]
        runs = [json.loads((home / n).read_text())["run"] for n in names]
        assert sorted(r["epoch"] for r in runs) == [0, 1, 2]
        assert len({r["case"]["id"] for r in runs}) == 1
    cases = {r["case"]["id"] for r in _runs(root, "prod.json")}
    assert cases == {
        "test_agent.py::test_marked[a]",
        "test_agent.py::test_marked[b c]",
        "test_agent.py::test_marked[d/e[f]]",
        "test_agent.py::TestAgent::test_fixture",
    }
    project.runpytest("--opsladder-epochs", "3", *xdist).assert_outcomes(passed=13)  # replay
    project.runpytest(*xdist).assert_outcomes(passed=5)  # one epoch: the first cassette
    result = project.runpytest("--opsladder-shadow", "--opsladder-epochs", "3", *xdist)
    result.assert_outcomes(passed=14)  # and the gate
    doc = json.loads((root / "reports" / "results.json").read_text())
    assert doc["epochs"] == {"baseline": 3, "candidate": 3}
    assert {c["case_id"] for c in doc["cases"]} == cases
    for case in doc["cases"]:
        assert len(case["baseline"]["runs"]) == 3
        assert len(case["candidate"]["runs"]) == 3
    assert doc["cases_missing_baseline_epochs"] == {}


def test_more_candidate_epochs_than_recorded_names_the_missing_ones(
    project: pytest.Pytester,
) -> None:
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=5)
    result = project.runpytest("--opsladder-shadow", "--opsladder-epochs", "2")
    result.stdout.fnmatch_lines(
        ["*4 case(s) have no baseline for epoch(s) 1*--opsladder-mode=record --opsladder-epochs 2*"]
    )
    doc = json.loads((Path(project.path) / "reports" / "results.json").read_text())
    assert list(doc["cases_missing_baseline_epochs"].values()) == [[1]] * 4
