"""``--opsladder-record-mode=rewrite`` through pytest: it records from scratch, and replaces the
cassette only once the run has completed. A rewrite that fails, errors or is interrupted leaves
the good cassette byte-identical, with the run beside it (``.error.json`` / ``.incomplete.json``)
as every other record mode does (ladder level 0: a good recording is never replaced by a worse).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
REWRITE = ("--opsladder-mode=record", "--opsladder-record-mode=rewrite", "-p", "no:randomly")

AGENT = """
import json, os, pathlib
import pytest
from pytest_opsladder import tool

CASSETTE = pathlib.Path("cassettes/opsladder/test_agent/test_one/baseline.json")

@tool
def lookup(x: int) -> dict:
    return {"x": x, "version": os.environ.get("TOOL_VERSION", "1")}

@pytest.mark.opsladder
def test_one(opsladder_run):
    if CASSETTE.exists():  # during the run, the cassette on disk is still the old one
        pathlib.Path("seen.txt").write_bytes(CASSETTE.read_bytes())
    opsladder_run.output = lookup(1)
    how = os.environ.get("HOW_IT_ENDS")
    if how == "agent raises":
        raise RuntimeError("agent broke")
    if how == "interrupted":
        raise KeyboardInterrupt
    assert how != "test fails", "wrong answer"
"""


@pytest.fixture
def baseline(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """test_one recorded once, passing, with tool version 1; the next runs see version 2."""
    monkeypatch.delenv("HOW_IT_ENDS", raising=False)
    monkeypatch.delenv("TOOL_VERSION", raising=False)
    pytester.makepyfile(test_agent=AGENT)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    monkeypatch.setenv("TOOL_VERSION", "2")
    return pytester.path / "cassettes/opsladder/test_agent/test_one/baseline.json"


def run_of(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())["run"]  # type: ignore[no-any-return]


def beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


@XDIST
def test_a_completed_rewrite_replaces_the_cassette_at_the_end(
    pytester: pytest.Pytester, baseline: Path, xdist: list[str]
) -> None:
    before = baseline.read_bytes()
    result = pytester.runpytest(*REWRITE, *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*opsladder runs: 1 recorded, 0 replayed, 0 incomplete*"])
    assert (pytester.path / "seen.txt").read_bytes() == before  # not deleted before the run
    assert run_of(baseline)["output"] == {"x": 1, "version": "2"}
    assert beside(baseline) == ["baseline.json"]  # no temp file, nothing left beside


@XDIST
@pytest.mark.parametrize(
    ("how", "outcome", "status"),
    [("test fails", "failed", "complete"), ("agent raises", "failed", "error")],
)
def test_a_rewrite_that_fails_keeps_the_cassette_and_puts_the_run_beside_it(
    pytester: pytest.Pytester,
    baseline: Path,
    monkeypatch: pytest.MonkeyPatch,
    xdist: list[str],
    how: str,
    outcome: str,
    status: str,
) -> None:
    before = baseline.read_bytes()
    monkeypatch.setenv("HOW_IT_ENDS", how)
    result = pytester.runpytest(*REWRITE, *xdist)
    result.assert_outcomes(**{outcome: 1})
    result.stdout.fnmatch_lines(
        ["*1 good cassette(s) kept: the failed rewrite is beside it as *.error.json*"]
    )
    assert baseline.read_bytes() == before
    kept = run_of(baseline.with_name("baseline.error.json"))
    assert kept["status"] == status
    assert kept["output"] == {"x": 1, "version": "2"}
    assert beside(baseline) == ["baseline.error.json", "baseline.json"]
    monkeypatch.delenv("HOW_IT_ENDS")
    pytester.runpytest(*REWRITE, *xdist).assert_outcomes(passed=1)  # the next good rewrite
    assert run_of(baseline)["output"] == {"x": 1, "version": "2"}
    assert beside(baseline) == ["baseline.json"]  # ... replaces it and clears what was beside


@XDIST
def test_an_interrupted_rewrite_keeps_the_cassette_byte_identical(
    pytester: pytest.Pytester, baseline: Path, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    before = baseline.read_bytes()
    monkeypatch.setenv("HOW_IT_ENDS", "interrupted")
    result = pytester.runpytest_subprocess(*REWRITE, *xdist)
    assert result.ret != pytest.ExitCode.OK
    assert baseline.read_bytes() == before
    interrupted = run_of(baseline.with_name("baseline.incomplete.json"))
    assert interrupted["status"] == "incomplete"
    assert interrupted["error"]["type"] == "KeyboardInterrupt"
    assert beside(baseline) == ["baseline.incomplete.json", "baseline.json"]
