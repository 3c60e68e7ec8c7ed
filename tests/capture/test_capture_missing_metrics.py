"""A metric that could not be measured (NaN, infinity) is missing in the written run, which
stays loadable: a cassette is JSON, and JSON has no NaN (ladder level 0)."""

from __future__ import annotations

import json

import pytest

CONFTEST = """
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("baseline")]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return lambda case_input: {"answer": "42"}

def pytest_opsladder_run_metrics(run):
    return {"quality": float("nan"), "overflow": float("inf"), "answer_len": 2}
"""

TEST = """
def test_answer(opsladder_run, opsladder_agent):
    opsladder_run.output = opsladder_agent({})
"""


def test_a_nan_metric_is_written_as_missing_and_the_cassette_replays(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_answer=TEST)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    [cassette] = pytester.path.glob("cassettes/**/*.json")
    metrics = json.loads(cassette.read_text())["run"]["metrics"]
    assert (metrics["quality"], metrics["overflow"], metrics["answer_len"]) == (None, None, 2)
    pytester.runpytest().assert_outcomes(passed=1)
