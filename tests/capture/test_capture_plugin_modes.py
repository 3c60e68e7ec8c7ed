"""Ladder level 0 through pytest: record modes, option precedence, marker, fixtures, summary.

Every test runs a real pytest session with ``pytester``, serially and under xdist; tool bodies
append to a log file, so "replayed, never executed" is something the test can see.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

TOOLS = """
import json, os
import pytest
from pytest_opsladder import tool

@tool
def lookup(x: int) -> dict:
    with open(os.environ["EXEC_LOG"], "a") as fh:
        fh.write(json.dumps(x) + "\\n")
    return {"x": x, "version": os.environ.get("TOOL_VERSION", "1")}
"""

AGENT = (
    TOOLS
    + """
@pytest.mark.opsladder
def test_one(opsladder_run):
    opsladder_run.output = lookup(1)
    for extra in os.environ.get("EXTRA", "").split():
        lookup(int(extra))

@pytest.mark.opsladder
def test_two(opsladder_run):
    opsladder_run.output = lookup(2)
"""
)


@pytest.fixture
def log(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = pytester.path / "exec.log"
    monkeypatch.setenv("EXEC_LOG", str(path))
    monkeypatch.delenv("EXTRA", raising=False)
    monkeypatch.delenv("TOOL_VERSION", raising=False)
    return path


def executed(log: Path) -> list[int]:
    """Which tool calls really ran since the last look (then forget them)."""
    if not log.exists():
        return []
    calls = sorted(json.loads(line) for line in log.read_text().split())
    log.unlink()
    return calls


def cassette(pytester: pytest.Pytester, test: str, variant: str = "baseline") -> Path:
    return pytester.path / "cassettes" / "opsladder" / "test_agent" / test / f"{variant}.json"


def saved(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())["run"]  # type: ignore[no-any-return]


@XDIST
def test_mode_none_replays_and_a_missing_cassette_says_how_to_record(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(test_agent=AGENT)
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=none", *xdist)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*no cassette for case*test_one*Record it with: pytest --opsladder-mode=record*"]
    )
    assert executed(log) == []
    assert not (pytester.path / "cassettes").exists()


@XDIST
def test_mode_once_records_missing_and_replays_existing(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(test_agent=AGENT)
    pytester.runpytest("--opsladder-mode=record", "-k", "one", *xdist).assert_outcomes(passed=1)
    assert executed(log) == [1]
    before = cassette(pytester, "test_one").read_bytes()
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=once", *xdist)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*opsladder runs: 1 recorded, 1 replayed, 0 incomplete*"])
    assert executed(log) == [2]  # test_one replayed, test_two recorded
    assert cassette(pytester, "test_one").read_bytes() == before
    assert saved(cassette(pytester, "test_two"))["output"] == {"x": 2, "version": "1"}


@XDIST
def test_mode_new_episodes_replays_old_calls_records_new_and_saves_both(
    pytester: pytest.Pytester, log: Path, xdist: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_agent=AGENT)
    pytester.runpytest("--opsladder-mode=record", "-k", "one", *xdist).assert_outcomes(passed=1)
    assert executed(log) == [1]
    monkeypatch.setenv("EXTRA", "5")
    result = pytester.runpytest(
        "--opsladder-mode=record", "--opsladder-record-mode=new_episodes", "-k", "one", *xdist
    )
    result.assert_outcomes(passed=1)
    assert executed(log) == [5]  # lookup(1) came from the cassette
    calls = [e["data"]["args"]["x"] for e in saved(cassette(pytester, "test_one"))["events"]]
    assert calls == [1, 5]
    pytester.runpytest("-k", "one", *xdist).assert_outcomes(passed=1)  # plain replay of both
    assert executed(log) == []


@XDIST
def test_mode_all_reexecutes_and_overwrites_only_after_the_run(
    pytester: pytest.Pytester, log: Path, xdist: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_agent=TOOLS
        + """
import pathlib
@pytest.mark.opsladder
def test_one(opsladder_run):
    opsladder_run.output = lookup(1)
    path = pathlib.Path("cassettes/opsladder/test_agent/test_one/baseline.json")
    # while the run is going on, the old cassette is still the one on disk
    on_disk = json.loads(path.read_text())["run"]["output"] if path.exists() else None
    assert on_disk in (None, {"x": 1, "version": "1"})
"""
    )
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=1)
    assert executed(log) == [1]
    monkeypatch.setenv("TOOL_VERSION", "2")
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=all", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*opsladder runs: 1 recorded, 0 replayed, 0 incomplete*"])
    assert executed(log) == [1]
    assert saved(cassette(pytester, "test_one"))["output"] == {"x": 1, "version": "2"}


@XDIST
def test_mode_rewrite_keeps_the_cassette_until_the_run_has_completed(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    """Once asserted that rewrite deleted the cassette before the run; an interrupted or failed
    rewrite then lost a good recording. The old file now stays until the new run completes."""
    pytester.makepyfile(
        test_agent=TOOLS
        + """
import pathlib
@pytest.mark.opsladder
def test_one(opsladder_run):
    path = pathlib.Path("cassettes/opsladder/test_agent/test_one/baseline.json")
    assert path.read_text() == "stale, not even JSON"  # still there while the run goes on
    opsladder_run.output = lookup(1)
"""
    )
    path = cassette(pytester, "test_one")
    path.parent.mkdir(parents=True)
    path.write_text("stale, not even JSON")
    result = pytester.runpytest(
        "--opsladder-mode=record", "--opsladder-record-mode=rewrite", *xdist
    )
    result.assert_outcomes(passed=1)
    assert executed(log) == [1]
    assert saved(path)["status"] == "complete"  # a damaged cassette is no baseline to keep
    assert sorted(p.name for p in path.parent.iterdir()) == ["baseline.json"]


@XDIST
def test_ini_mode_applies_and_the_command_line_wins(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makeini("[pytest]\nopsladder_mode = record\nopsladder_record_mode = once\n")
    pytester.makepyfile(test_agent=AGENT)
    pytester.runpytest(*xdist).assert_outcomes(passed=2)  # ini: record
    assert executed(log) == [1, 2]
    cassette(pytester, "test_two").unlink()
    result = pytester.runpytest("--opsladder-mode=replay", *xdist)  # CLI beats ini
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 1 replayed, 0 incomplete*"])
    assert executed(log) == []


def test_default_mode_is_replay(pytester: pytest.Pytester, log: Path) -> None:
    pytester.makepyfile(test_agent=AGENT)
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*no cassette for case*"])
    assert executed(log) == []


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--opsladder-record-mode=sometimes"],
            "",
            "*'sometimes' is not a valid record mode*"
            "Valid values are: none, once, new_episodes, all, rewrite*",
        ),
        (
            [],
            "opsladder_mode = live",
            "*'live' is not a valid opsladder mode*replay, record, shadow*",
        ),
        ([], "opsladder_record_mode = never", "*'never' is not a valid record mode*none, once*"),
    ],
)
def test_invalid_values_are_usage_errors_listing_valid_ones(
    pytester: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(test_x="def test_x(): pass")
    result = (
        pytester.runpytest("--opsladder-mode=record", *args)
        if not ini.startswith("opsladder_mode")
        else pytester.runpytest(*args)
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_help_shows_options_and_ini_keys(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*opsladder*",
            "*--opsladder-mode=MODE*",
            "*--opsladder-record-mode=RECORD_MODE*",
            "*--opsladder-variant=NAME*",
            "*--opsladder-cassette-dir=DIR*",
            "*opsladder_mode*",
            "*opsladder_record_mode*",
        ]
    )
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.opsladder(case=None, variant=None):*"])


@XDIST
def test_marker_fixtures_and_module_scoped_config(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makeconftest(
        """
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("baseline", model="m1"), Variant("next", model="m2", prompt="be brief")]
"""
    )
    pytester.makepyfile(
        test_agent=TOOLS
        + """
@pytest.fixture(scope="module")
def opsladder_config(tmp_path_factory):
    return {"cassette_dir": "module_cassettes"}

@pytest.mark.opsladder(case="refund-42", variant="next")
def test_marked(opsladder_run, opsladder_variant, opsladder_config):
    assert opsladder_variant.name == "next" and opsladder_variant.model == "m2"
    assert opsladder_run.case.id == "refund-42"
    assert opsladder_run.variant is opsladder_variant
    assert opsladder_config == {"cassette_dir": "module_cassettes"}
    opsladder_run.output = lookup(7)

def test_unmarked_fixture(opsladder_run, opsladder_variant):
    assert opsladder_variant.name == "baseline"
    opsladder_run.output = lookup(8)

def test_no_run():
    from pytest_opsladder import current_run
    assert current_run() is None
    assert lookup(9)["x"] == 9
"""
    )
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=3)
    assert executed(log) == [7, 8, 9]
    root = pytester.path / "module_cassettes" / "test_agent"
    assert saved(root / "test_marked" / "next.json")["case"]["id"] == "refund-42"
    assert saved(root / "test_marked" / "next.json")["variant"]["model"] == "m2"
    assert saved(root / "test_unmarked_fixture" / "baseline.json")["output"]["x"] == 8
    assert not (pytester.path / "cassettes").exists()
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 2 replayed, 0 incomplete*"])
    assert executed(log) == [9]  # only the call outside any run executed


@XDIST
def test_module_config_record_mode_overrides_the_session(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(
        test_agent=AGENT.replace(
            "@pytest.mark.opsladder\ndef test_one",
            "@pytest.fixture(scope='module')\ndef opsladder_config():\n"
            "    return {'record_mode': 'rewrite'}\n\n@pytest.mark.opsladder\ndef test_one",
        )
    )
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=2)
    assert executed(log) == [1, 2]
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=2)
    assert executed(log) == [1, 2]  # rewrite re-runs both tests of the module


def test_keyboard_interrupt_counts_incomplete_and_keeps_the_cassette(
    pytester: pytest.Pytester, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_agent=TOOLS
        + """
@pytest.mark.opsladder
def test_one(opsladder_run):
    opsladder_run.output = lookup(1)
    if os.environ.get("INTERRUPT"):
        raise KeyboardInterrupt
"""
    )
    pytester.runpytest_subprocess("--opsladder-mode=record").assert_outcomes(passed=1)
    path = cassette(pytester, "test_one")
    before = path.read_bytes()
    monkeypatch.setenv("INTERRUPT", "1")
    result = pytester.runpytest_subprocess("--opsladder-mode=record", "--opsladder-record-mode=all")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 0 replayed, 1 incomplete*"])
    assert path.read_bytes() == before
    beside = path.with_name("baseline.incomplete.json")
    assert saved(beside)["status"] == "incomplete"
    assert saved(path)["status"] == "complete"


@XDIST
def test_failing_check_is_a_complete_run_and_an_agent_error_is_error(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(
        test_agent=TOOLS
        + """
@pytest.mark.opsladder
def test_check_fails(opsladder_run):
    opsladder_run.output = lookup(1)
    assert opsladder_run.output["x"] == 2

@pytest.mark.opsladder
def test_agent_crashes(opsladder_run):
    lookup(2)
    raise RuntimeError("agent broke")
"""
    )
    result = pytester.runpytest("--opsladder-mode=record", *xdist)
    result.assert_outcomes(failed=2)
    assert saved(cassette(pytester, "test_check_fails"))["status"] == "complete"
    crashed = saved(cassette(pytester, "test_agent_crashes"))
    assert crashed["status"] == "error"
    assert crashed["error"]["message"] == "agent broke"


def test_config_cassette_dir_is_relative_to_the_rootdir(
    pytester: pytest.Pytester, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(scope="session")
def opsladder_config():
    return {"cassette_dir": "recordings"}
"""
    )
    sub = pytester.mkdir("sub")
    (sub / "test_agent.py").write_text(AGENT)
    monkeypatch.chdir(sub)  # run from a subdirectory, as an IDE or a developer might
    pytester.runpytest("--opsladder-mode=record", "test_agent.py").assert_outcomes(passed=2)
    recorded = pytester.path / "recordings" / "sub" / "test_agent" / "test_one" / "baseline.json"
    assert recorded.is_file()
    assert not (sub / "recordings").exists()


@XDIST
def test_a_run_whose_test_never_ran_is_incomplete(
    pytester: pytest.Pytester, log: Path, xdist: list[str]
) -> None:
    pytester.makepyfile(
        test_agent=TOOLS
        + """
@pytest.fixture
def broken_db():
    raise RuntimeError("database is down")

def test_one(opsladder_run, broken_db):
    opsladder_run.output = lookup(1)
"""
    )
    result = pytester.runpytest("--opsladder-mode=record", *xdist)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 0 replayed, 1 incomplete*"])
    assert executed(log) == []
    path = cassette(pytester, "test_one")
    assert not path.exists()  # never a cassette for a run that did not happen
    assert saved(path.with_name("baseline.incomplete.json"))["status"] == "incomplete"
