"""``--opsladder-workers``: candidate runs in several processes, one verdict as in a serial run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONFTEST = """
import os, signal, sys, threading, time
from pathlib import Path
import pytest
from pytest_opsladder import Variant, tool

CONTROLLER = os.getpid()  # a forked worker inherits it; a spawned one imports this anew
HOLD = threading.Event()

@tool
def lookup(q: str) -> dict:
    return {"q": q, "value": len(q)}

def in_worker(config):
    return os.getpid() != CONTROLLER or bool(config.getoption("opsladder_worker_plan"))

def make_agent(variant, worker=False):
    def agent(case_input):
        how = os.environ.get("WORKER_FAILS") if worker else None
        if how == "exit":
            os._exit(3)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "hang":
            time.sleep(600)
        if how == "print":
            print("WORKER-PRINT")
            print("WORKER-ERR", file=sys.stderr)
        if variant.params.get("explode") and case_input["q"].startswith("boom"):
            raise RuntimeError("the candidate crashed")
        found = lookup(case_input["q"])
        if variant.params.get("chatty"):
            lookup(case_input["q"] + "?")
        return {"answer": found["value"] * variant.params.get("factor", 1)}
    return agent

def pytest_configure(config):
    if os.environ.get("HOLD_THREAD"):  # a conftest that runs a server thread: workers spawn
        threading.Thread(target=HOLD.wait, name="conftest-server", daemon=True).start()

def pytest_unconfigure(config):
    HOLD.set()

def pytest_opsladder_variants():
    return [Variant("prod", params={"factor": 1}),
            Variant("mixed", params={"factor": 1, "explode": True, "chatty": True})]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    with Path(os.environ["BUILT_IN"]).open("a") as fh:   # which process ran the case
        fh.write(f"{os.getpid()} {case.id}\\n")
    return make_agent(variant, in_worker(config))
"""


def _cases(root: Path, n: int = 8) -> None:
    cases = root / "nightmare_set"
    cases.mkdir()
    for i in range(n):
        q = f"{'boom' if i < 3 else 'q'}{'x' * i}"
        (cases / f"case-{i}.yaml").write_text(
            f"id: case-{i}\ninput: {{q: {q}}}\nchecks:\n"
            f"  - exact: {{path: answer, value: {len(q)}}}\n"
        )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    _cases(pytester.path)
    monkeypatch.setenv("BUILT_IN", str(pytester.path / "built_in.txt"))
    pytester.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=8)
    return pytester


def _shadow(
    project: pytest.Pytester, *args: str, subprocess: bool = False
) -> tuple[Any, dict[str, Any], dict[str, int]]:
    """A shadow session (in a fresh interpreter with ``subprocess``: one whose threads are
    its own, so it forks); its result, results.json, and which pid built each case's agent."""
    built = project.path / "built_in.txt"
    built.unlink(missing_ok=True)
    run = project.runpytest_subprocess if subprocess else project.runpytest
    result = run("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=mixed", *args)
    results = json.loads((project.path / "reports/results.json").read_text())
    pids: dict[str, int] = {}
    for line in built.read_text().splitlines() if built.exists() else []:
        pid, case = line.split()
        pids[case] = int(pid)
    return result, results, pids


def _per_case(results: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        c["case_id"]: (c["verdict"], c["candidate"]["runs"][0]["status"]) for c in results["cases"]
    }


# The serial verdict of every case: the three "boom" cases crash the candidate.
SERIAL = {f"case-{i}": ("error", "error") if i < 3 else ("unchanged", "complete") for i in range(8)}
VOLATILE = {"created_at", "run_id", "latency_s"}  # differ between any two runs


def _stable(doc: Any) -> Any:
    """results.json without what differs between two identical runs (times, run ids)."""
    if isinstance(doc, dict):
        if doc.get("name") in VOLATILE:  # a metric row: the latency's statistics
            return None
        return {k: _stable(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [_stable(v) for v in doc]
    return doc


def test_two_workers_give_the_serial_verdict_from_two_processes(project: pytest.Pytester) -> None:
    serial, serial_results, serial_pids = _shadow(project, "--opsladder-workers=1")
    split, split_results, split_pids = _shadow(project, "--opsladder-workers=2")
    assert split.ret == serial.ret
    assert split_results["verdict"] == serial_results["verdict"]
    assert split_results["n_cases"] == serial_results["n_cases"] == 8
    assert _per_case(split_results) == _per_case(serial_results) == SERIAL
    assert _stable(split_results) == _stable(serial_results)  # results.json: the same
    assert len(set(serial_pids.values())) <= 1  # one process, agents built in the items
    assert sorted(split_pids) == [f"case-{i}" for i in range(8)]  # each case built once
    assert len(set(split_pids.values())) == 2  # ... in two processes
    split.stdout.fnmatch_lines(["*opsladder shadow: 8 cases in 2 processes (*), concurrency 1 "
                                "each", "*opsladder shadow: 8/8 cases*"])  # fmt: skip
    _, both_results, _ = _shadow(project, "--opsladder-workers=2", "--opsladder-concurrency=3")
    assert _stable(both_results) == _stable(serial_results)  # threads in each worker too


def test_workers_are_forked_and_write_nothing_to_the_terminal(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_FAILS", "print")  # a worker's agent prints to stdout and stderr
    _, serial_results, _ = _shadow(project, "--opsladder-workers=1")
    result, results, pids = _shadow(project, "--opsladder-workers=2", "--opsladder-concurrency=2",
                                    subprocess=True)  # fmt: skip
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*8 cases in 2 processes (fork), concurrency 2 each"])
    output = result.stdout.str() + result.stderr.str()
    assert "WORKER-PRINT" not in output
    assert "WORKER-ERR" not in output
    assert "shadow worker" not in output  # no worker failed: no notice
    assert len(set(pids.values())) == 2  # the child's cases were built in the child
    assert _stable(results) == _stable(serial_results)


@pytest.mark.parametrize(
    ("how", "start", "notice"),
    [
        ("exit", "fork", "exit code 3, no results"),
        ("kill", "fork", "killed by signal SIGKILL, no results"),
        ("hang", "fork", "still running * s after this share ended; killed, no results"),
        ("exit", "spawn", "exit code 3, no results"),
        ("hang", "spawn", "still running * s after this share ended; killed, no results"),
    ],
)
def test_a_worker_that_fails_loses_no_case(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str, start: str, notice: str
) -> None:
    """The worker's agent exits, kills its process or hangs at its first case: the worker
    writes no runs, the controller says so and runs every one of its cases in the items."""
    if how == "hang":  # a worker still running 1 s after the controller's share is killed
        ini = '[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n'
        (project.path / "pyproject.toml").write_text(ini + "opsladder_workers_timeout = 1\n")
    monkeypatch.setenv("WORKER_FAILS", how)
    if start == "spawn":
        monkeypatch.setenv("HOLD_THREAD", "1")  # another thread alive: the workers are spawned
    result, results, _ = _shadow(project, "--opsladder-workers=2", subprocess=True)
    result.stdout.fnmatch_lines([f"*8 cases in 2 processes ({start}*",
                                 f"*shadow worker 1 of 2 failed ({notice}*",
                                 "*its cases without a run run here, one at a time.*",
                                 "*opsladder shadow: 8/8 cases*"])  # fmt: skip
    assert results["n_cases"] == 8
    assert _per_case(results) == SERIAL  # every case, with its serial result


def test_workers_spawn_while_another_thread_runs(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOLD_THREAD", "1")  # a conftest's server thread, say
    result, results, pids = _shadow(project, "--opsladder-workers=2", subprocess=True)
    how = "spawn: 1 other thread(s) alive in this process (conftest-server)"
    result.stdout.fnmatch_lines([f"*8 cases in 2 processes ({how}), concurrency 1 each"])
    assert "shadow worker" not in result.stdout.str()
    assert len(set(pids.values())) == 2
    assert _per_case(results) == SERIAL


def test_workers_are_ignored_under_xdist_with_a_notice(project: pytest.Pytester) -> None:
    result, results, pids = _shadow(project, "--opsladder-workers=2", "-n", "2")
    result.stdout.fnmatch_lines(["*--opsladder-workers is ignored under -n*"])
    assert "cases in 2 processes" not in result.stdout.str()  # no worker of ours started
    assert pids == {}  # agents come from the fixture, in xdist's workers
    assert _per_case(results) == SERIAL


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_workers_value_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"--opsladder-workers={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--opsladder-workers*{value!r}*auto*"])


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_workers_timeout_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    pytester.makeini(f"[pytest]\nopsladder_workers_timeout = {value}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*opsladder_workers_timeout*{value!r}*"])


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_more_workers_than_cases_start_one_process_per_case(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    """``--opsladder-workers=16`` over 8 cases: 8 processes, none idle; the serial verdict."""
    if start == "spawn":
        monkeypatch.setenv("HOLD_THREAD", "1")
    result, results, pids = _shadow(project, "--opsladder-workers=16", subprocess=True)
    result.stdout.fnmatch_lines([f"*8 cases in 8 processes ({start}*), concurrency 1 each"])
    assert "shadow worker" not in result.stdout.str()  # no worker failed or went idle
    assert len(set(pids.values())) == 8
    assert _per_case(results) == SERIAL
