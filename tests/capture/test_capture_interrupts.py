"""Ladder level 0: a run that does not end cleanly is never `complete`, and never costs the
cassette recorded before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_opsladder import Case, Mode, RecordMode, RunRecorder, RunStatus, Variant, tool
from pytest_opsladder.cassette import files


@tool(name="irq_fetch")
def fetch(x: int) -> int:
    return x + 1


def recorder(path: Path, record_mode: RecordMode = RecordMode.ALL) -> RunRecorder:
    return RunRecorder(Case("irq"), Variant("v"), path, mode=Mode.RECORD, record_mode=record_mode)


def agent_dies(rec: RunRecorder, exc: BaseException, x: int = 2) -> None:
    """An agent that makes a tool call, then is stopped by ``exc``."""
    with rec:
        fetch(x)
        raise exc


@pytest.fixture
def good_cassette(tmp_path: Path) -> Path:
    path = tmp_path / "case" / "v.json"
    with recorder(path) as run:
        run.output = fetch(1)
    assert files.load(path).status is RunStatus.COMPLETE
    return path


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupted_run_is_incomplete_and_previous_cassette_intact(
    good_cassette: Path, interrupt: type[BaseException]
) -> None:
    before = good_cassette.read_bytes()
    rec = recorder(good_cassette)
    with pytest.raises(interrupt):
        agent_dies(rec, interrupt())
    assert rec.run.status is RunStatus.INCOMPLETE
    assert good_cassette.read_bytes() == before
    beside = good_cassette.with_name("v.incomplete.json")
    kept = files.load(beside)
    assert kept.status is RunStatus.INCOMPLETE
    assert kept.error is not None
    assert kept.error["type"] == interrupt.__name__
    assert [e.data["args"] for e in kept.events_of("tool_call")] == [{"x": 2}]
    assert sorted(p.name for p in good_cassette.parent.iterdir()) == ["v.incomplete.json", "v.json"]


def test_a_clean_run_replaces_cassette_and_removes_the_incomplete_one(good_cassette: Path) -> None:
    with pytest.raises(KeyboardInterrupt), recorder(good_cassette):
        raise KeyboardInterrupt
    with recorder(good_cassette) as run:
        run.output = fetch(5)
    assert files.load(good_cassette).output == 6
    assert not good_cassette.with_name("v.incomplete.json").exists()


def test_an_exception_in_the_agent_ends_the_run_as_error_never_complete(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    with pytest.raises(ZeroDivisionError):
        agent_dies(recorder(path), ZeroDivisionError("division by zero"))
    saved = files.load(path)
    assert saved.status is RunStatus.ERROR
    assert saved.error is not None
    assert saved.error["type"] == "ZeroDivisionError"


def test_an_interrupted_replay_does_not_touch_the_cassette(good_cassette: Path) -> None:
    before = good_cassette.read_bytes()
    replaying = RunRecorder(Case("irq"), Variant("v"), good_cassette, mode=Mode.REPLAY)
    with pytest.raises(KeyboardInterrupt):
        agent_dies(replaying, KeyboardInterrupt(), x=1)
    assert replaying.run.status is RunStatus.INCOMPLETE
    assert good_cassette.read_bytes() == before
    assert sorted(p.name for p in good_cassette.parent.iterdir()) == ["v.json"]


def test_sigkill_mid_production_capture_leaves_an_incomplete_record(tmp_path: Path) -> None:
    store = tmp_path / "runs"
    script = textwrap.dedent(
        f"""
        import os, signal
        from pytest_opsladder import capture, tool

        @tool
        def lookup(x: int) -> int:
            return x * 2

        with capture(case_id="ticket-1", variant="prod", store={str(store)!r}, input="hi") as run:
            lookup(21)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr.decode()
    written = sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file())
    assert len(written) == 1, written
    assert written[0].suffix == ".json"
    assert not written[0].name.startswith(".")  # no temp file left behind
    raw = json.loads((store / written[0]).read_text())  # whole, parseable JSON
    run = files.load(store / written[0])
    assert raw["run"]["status"] == "incomplete"
    assert run.status is RunStatus.INCOMPLETE
    assert run.case.id == "ticket-1"


def test_production_capture_that_ends_is_complete(tmp_path: Path) -> None:
    from pytest_opsladder import capture

    with capture(case_id="t2", variant="prod", store=tmp_path, input="x") as run:
        run.output = fetch(41)
    (path,) = [p for p in tmp_path.rglob("*.json")]
    assert path.parent.name == run.manifest["started_at"][:10]
    saved = files.load(path)
    assert saved.status is RunStatus.COMPLETE
    assert saved.output == 42
    assert [e.name for e in saved.events_of("tool_call")] == ["irq_fetch"]


def test_sigkill_mid_pytest_recording_keeps_previous_cassette(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_kill="""
        import os, signal
        import pytest
        from pytest_opsladder import tool

        @tool
        def lookup(x: int) -> int:
            return x * 2

        @pytest.mark.opsladder
        def test_agent():
            lookup(1)
            if os.environ.get("KILL"):
                os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes/opsladder/test_kill/test_agent/baseline.json"
    before = cassette.read_bytes()
    env = {**os.environ, "KILL": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--opsladder-mode=record",
            "--opsladder-record-mode=all",
            "-p",
            "no:cacheprovider",
        ],
        cwd=pytester.path,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -9
    assert cassette.read_bytes() == before
    assert sorted(p.name for p in cassette.parent.iterdir()) == ["baseline.json"]


# -- the test stops the agent: pytest.skip / xfail / fail (D6) ------------------------------
XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

STOPPING_AGENTS = """
import asyncio, os
import pytest
from pytest_opsladder import tool

@tool
def search(q: str) -> list:
    return [q]

@tool
def summarize(items: list) -> str:
    return "summary of %d" % len(items)

def stop_here():
    how = os.environ.get("STOP")
    if how == "skip":
        pytest.skip("backend unavailable")
    if how == "xfail":
        pytest.xfail("known broken")
    if how == "fail":
        pytest.fail("agent gave up")

def sync_agent(q):
    items = search(q)
    if q != "first":
        stop_here()
    return summarize(items)

async def async_agent(q):
    items = search(q)
    await asyncio.sleep(0)
    stop_here()
    return summarize(items)

@pytest.fixture
def opsladder_agent(request):
    return async_agent if "async" in request.node.name else sync_agent

@pytest.mark.opsladder
def test_body_is_the_agent(opsladder_run):
    opsladder_run.output = sync_agent("refunds")

@pytest.mark.opsladder
def test_sync_agent(opsladder_run, opsladder_agent):
    opsladder_run.output = opsladder_agent("refunds")

@pytest.mark.opsladder
def test_async_agent(opsladder_run, opsladder_agent):
    opsladder_run.output = opsladder_agent("refunds")

@pytest.mark.opsladder
def test_second_call_of_the_agent(opsladder_run, opsladder_agent):
    opsladder_run.output = [opsladder_agent("first"), opsladder_agent("refunds")]

@pytest.mark.asyncio
async def test_async_agent_in_a_running_loop(opsladder_run, opsladder_agent):
    opsladder_run.output = await opsladder_agent("refunds")
"""
STOPPED_TESTS = {  # each test's tool calls up to where the test stopped the agent
    "test_body_is_the_agent": ["search"],
    "test_sync_agent": ["search"],
    "test_async_agent": ["search"],
    "test_async_agent_in_a_running_loop": ["search"],
    "test_second_call_of_the_agent": ["search", "summarize", "search"],  # the first returned
}


@XDIST
@pytest.mark.parametrize("stop", ["skip", "xfail", "fail"])
def test_a_re_record_the_test_stops_part_way_keeps_the_good_cassette(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stop: str, xdist: list[str]
) -> None:
    """The test calls pytest.skip/xfail/fail after the agent's first tool call: the run is
    incomplete, kept beside the cassette, and the cassette still replays."""
    pytester.makepyfile(test_stop=STOPPING_AGENTS)
    monkeypatch.delenv("STOP", raising=False)
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=5)
    root = pytester.path / "cassettes/opsladder/test_stop"
    good = {name: (root / name / "baseline.json").read_bytes() for name in STOPPED_TESTS}
    monkeypatch.setenv("STOP", stop)
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=all", *xdist)
    result.assert_outcomes(**{{"skip": "skipped", "xfail": "xfailed", "fail": "failed"}[stop]: 5})
    result.stdout.fnmatch_lines(["*opsladder runs: 0 recorded, 0 replayed, 5 incomplete*"])
    for name, before in good.items():
        assert (root / name / "baseline.json").read_bytes() == before, name
        kept = files.load(root / name / "baseline.incomplete.json")
        assert kept.status is RunStatus.INCOMPLETE, name
        assert [e.name for e in kept.events_of("tool_call")] == STOPPED_TESTS[name], name
        assert kept.output is None
    monkeypatch.delenv("STOP")
    pytester.runpytest(*xdist).assert_outcomes(passed=5)


def test_pytest_exit_inside_a_run_is_an_interruption(good_cassette: Path) -> None:
    """pytest.exit raises an Exception subclass; the run is still incomplete, not error."""
    before = good_cassette.read_bytes()
    rec = recorder(good_cassette)
    with pytest.raises(pytest.exit.Exception):
        agent_dies(rec, pytest.exit.Exception("stop the session"))
    assert rec.run.status is RunStatus.INCOMPLETE
    assert good_cassette.read_bytes() == before
    assert files.load(good_cassette.with_name("v.incomplete.json")).error is not None


# -- a re-record whose test fails does not replace a baseline whose test passed (D6b) ------
CHECKED_AGENT = """
import os
import pytest
from pytest_opsladder import tool

@tool
def lookup(q: str) -> str:
    if os.environ.get("TOOL_DOWN"):
        raise RuntimeError("backend down")
    return "result-" + q

def agent(q):
    try:
        return lookup(q)
    except RuntimeError:
        return "sorry, try later"       # the agent catches the tool error and answers anyway

@pytest.fixture
def opsladder_agent():
    return agent

@pytest.mark.opsladder
def test_assert(opsladder_run, opsladder_agent):
    opsladder_run.output = opsladder_agent("a")
    assert opsladder_run.output == "result-a", "wrong answer"

@pytest.mark.opsladder
def test_check_with_fail(opsladder_run, opsladder_agent):
    opsladder_run.output = opsladder_agent("a")
    if opsladder_run.output != "result-a":
        pytest.fail("wrong answer")
"""


@XDIST
def test_a_re_record_whose_test_fails_is_kept_beside_a_passed_baseline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    pytester.makepyfile(test_checked=CHECKED_AGENT)
    monkeypatch.delenv("TOOL_DOWN", raising=False)
    pytester.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=2)
    paths = sorted(pytester.path.glob("cassettes/opsladder/test_checked/*/baseline.json"))
    good = {p: p.read_bytes() for p in paths}
    monkeypatch.setenv("TOOL_DOWN", "1")
    result = pytester.runpytest("--opsladder-mode=record", "--opsladder-record-mode=all", *xdist)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*2 good cassette(s) kept: the failed re-record is beside it*"])
    for path, before in good.items():
        assert path.read_bytes() == before
        kept = files.load(path.with_name("baseline.error.json"))
        assert kept.status is RunStatus.COMPLETE  # the agent finished; its test failed
        assert kept.output == "sorry, try later"
        assert kept.extra["test_outcome"]["outcome"] == "failed"
    monkeypatch.delenv("TOOL_DOWN")
    pytester.runpytest(*xdist).assert_outcomes(passed=2)  # the baseline still replays
    monkeypatch.setenv("TOOL_DOWN", "1")
    replaced = pytester.runpytest(
        "--opsladder-mode=record", "--opsladder-record-mode=rewrite", *xdist
    )
    replaced.assert_outcomes(failed=2)
    replaced.stdout.fnmatch_lines(["*2 good cassette(s) kept: the failed rewrite is beside it*"])
    for path, before in good.items():  # rewrite too: a run whose test failed is not a baseline
        assert path.read_bytes() == before
        assert files.load(path.with_name("baseline.error.json")).output == "sorry, try later"
