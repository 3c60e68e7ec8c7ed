"""Parameter ids that hold `::` name their own cassette. The test's name joins its classes with
dots (`TestA.test_x`), and the join used to reach into the parameter id too, so
`test_x[std::vector]` and `test_x[std.vector]` (or `[::1]` and `[.1]`) shared one cassette:
the second could never be recorded, replaying the first's run instead."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_opsladder.cassette.naming import safe_stem

XDIST = [[], ["-n", "2"]]

TESTS = """
import pytest
from pytest_opsladder import tool

@tool
def lookup(name: str) -> str:
    return name.upper()

@pytest.mark.opsladder
@pytest.mark.parametrize("name", ["std::vector", "std.vector", "::1", ".1"])
def test_name(opsladder_run, name):
    opsladder_run.output = lookup(name)
    assert opsladder_run.output == name.upper()

class TestHosts:
    @pytest.mark.opsladder
    @pytest.mark.parametrize("host", ["fe80::1", "fe80.1"])
    def test_host(self, opsladder_run, host):
        opsladder_run.output = lookup(host)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_ids=TESTS)
    return pytester


def _cassettes(root: Path) -> dict[str, Path]:
    found = {}
    for path in root.rglob("baseline.json"):
        found[json.loads(path.read_text())["run"]["case"]["id"]] = path
    return found


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_ids_that_differ_in_a_double_colon_have_their_own_cassettes(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    project.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=6)
    cassettes = _cassettes(Path(project.path))
    assert len(cassettes) == 6
    assert len(set(cassettes.values())) == 6
    project.runpytest(*xdist).assert_outcomes(passed=6)  # each replays its own run


def test_a_cassette_recorded_under_the_earlier_name_is_still_replayed(
    project: pytest.Pytester,
) -> None:
    """Where a `::` id had no dotted twin, its cassette sits under the earlier name: it is
    still this test's, read (and updated) there, not reported missing."""
    project.makepyfile(test_ids=TESTS.replace(', "std.vector", "::1", ".1"', "").replace(
        '["fe80::1", "fe80.1"]', '["fe80::1"]'))  # fmt: skip
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=2)
    for case_id, path in _cassettes(Path(project.path)).items():
        earlier = case_id.split("::", 1)[1].replace("::", ".")
        old_home = path.parent.parent / safe_stem(earlier)
        shutil.move(path.parent, old_home)
    before = sorted(p.relative_to(project.path) for p in Path(project.path).rglob("*.json"))
    project.runpytest().assert_outcomes(passed=2)
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=2)  # `once`: replays
    after = sorted(p.relative_to(project.path) for p in Path(project.path).rglob("*.json"))
    assert after == before
