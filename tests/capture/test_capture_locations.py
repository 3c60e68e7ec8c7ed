"""Ladder level 0: every test has its own cassette (issue 17's "fits any pytest suite").

Same-named tests in two classes of a module, and same-named modules in two packages under a
configured cassette dir, each record and replay their own run; a cassette at an earlier
layout's place is still read by the test that recorded it, never by its neighbour.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

TOOL = """
import json, os
import pytest
from pytest_opsladder import tool

@tool
def lookup(x: str) -> str:
    with open(os.environ["EXEC_LOG"], "a") as fh:
        fh.write(json.dumps(x) + "\\n")
    return x + "-" + os.environ.get("TOOL_VERSION", "1")
"""

CLASSES = (
    TOOL
    + """
class TestA:
    @pytest.mark.opsladder
    def test_x(self, opsladder_run):
        opsladder_run.output = lookup("a")
        assert opsladder_run.output.startswith("a-")

class TestB:
    @pytest.mark.opsladder
    def test_x(self, opsladder_run):
        opsladder_run.output = lookup("b")
        assert opsladder_run.output.startswith("b-")
"""
)


@pytest.fixture
def log(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = pytester.path / "exec.log"
    monkeypatch.setenv("EXEC_LOG", str(path))
    monkeypatch.delenv("TOOL_VERSION", raising=False)
    return path


def executed(log: Path) -> list[str]:
    if not log.exists():
        return []
    calls = sorted(json.loads(line) for line in log.read_text().split())
    log.unlink()
    return calls


def outputs(root: Path) -> dict[str, str]:
    found = {}
    for path in root.rglob("baseline.json"):
        run = json.loads(path.read_text())["run"]
        found[path.relative_to(root).as_posix()] = run["output"]
    return found


@XDIST
def test_same_named_tests_of_two_classes_keep_their_own_cassettes(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(test_cls=CLASSES)
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=2)
    assert executed(log) == ["a", "b"]
    home = pytester.path / "cassettes" / "opsladder" / "test_cls"
    assert outputs(home) == {
        "TestA.test_x/baseline.json": "a-1",
        "TestB.test_x/baseline.json": "b-1",
    }
    pytester.runpytest(*xdist).assert_outcomes(passed=2)  # replay: each its own run
    assert executed(log) == []


@XDIST
def test_same_named_modules_under_a_cassette_dir_keep_their_own_cassettes(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    body = TOOL + "\n@pytest.mark.opsladder\ndef test_same(opsladder_run):\n"
    pytester.mkpydir("suite")
    for package in ("a", "b"):
        pkg = pytester.mkpydir(f"suite/{package}")
        (pkg / "test_mod.py").write_text(body + f"    opsladder_run.output = lookup({package!r})\n")
    # its own interpreter: two packages' modules share a dotted name with no other suite's
    args = ("--opsladder-cassette-dir=cas", "-p", "no:randomly", *xdist)
    pytester.runpytest_subprocess("--opsladder-mode=record", *args).assert_outcomes(passed=2)
    assert executed(log) == ["a", "b"]
    assert outputs(pytester.path / "cas") == {
        "suite/a/test_mod/test_same/baseline.json": "a-1",
        "suite/b/test_mod/test_same/baseline.json": "b-1",
    }
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
    assert executed(log) == []


def test_a_cassette_at_the_earlier_place_is_read_by_its_own_test_only(
    pytester: pytest.Pytester, log: Path
) -> None:
    """Recorded before classes were part of the name, ``test_x/`` holds TestA's run: TestA
    replays it (and re-records it in place); TestB finds no cassette of its own."""
    pytester.makepyfile(test_cls=CLASSES)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=2)
    home = pytester.path / "cassettes" / "opsladder" / "test_cls"
    (home / "TestA.test_x").rename(home / "test_x")
    (home / "TestB.test_x" / "baseline.json").unlink()
    executed(log)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*no cassette for case 'test_cls.py::TestB::test_x'*"])
    assert executed(log) == []
    assert outputs(home) == {"test_x/baseline.json": "a-1"}
