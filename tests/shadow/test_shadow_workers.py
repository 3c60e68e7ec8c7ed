"""``--opsladder-workers``: candidate runs in several processes, one verdict as in a serial run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONFTEST = """
import os
from pathlib import Path
import pytest
from pytest_opsladder import Variant, tool

@tool
def lookup(q: str) -> dict:
    return {"q": q, "value": len(q)}

def make_agent(variant):
    def agent(case_input):
        if variant.params.get("explode") and case_input["q"].startswith("boom"):
            raise RuntimeError("the candidate crashed")
        found = lookup(case_input["q"])
        if variant.params.get("chatty"):
            lookup(case_input["q"] + "?")
        return {"answer": found["value"] * variant.params.get("factor", 1)}
    return agent

def pytest_opsladder_variants():
    return [Variant("prod", params={"factor": 1}),
            Variant("mixed", params={"factor": 1, "explode": True, "chatty": True})]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    with Path(os.environ["BUILT_IN"]).open("a") as fh:   # which process ran the case
        fh.write(f"{os.getpid()} {case.id}\\n")
    return make_agent(variant)
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


def _shadow(project: pytest.Pytester, *args: str) -> tuple[Any, dict[str, Any], dict[str, int]]:
    built = project.path / "built_in.txt"
    built.unlink(missing_ok=True)
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=mixed", *args
    )
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


def test_two_workers_give_the_serial_verdict_from_two_processes(project: pytest.Pytester) -> None:
    serial, serial_results, serial_pids = _shadow(project, "--opsladder-workers=1")
    split, split_results, split_pids = _shadow(project, "--opsladder-workers=2")
    assert split.ret == serial.ret
    assert split_results["verdict"] == serial_results["verdict"]
    assert split_results["n_cases"] == serial_results["n_cases"] == 8
    assert _per_case(split_results) == _per_case(serial_results)
    errored = [c for c, (_, status) in _per_case(split_results).items() if status == "error"]
    assert sorted(errored) == ["case-0", "case-1", "case-2"]
    assert len(set(serial_pids.values())) <= 1  # one process, agents built in the items
    assert sorted(split_pids) == [f"case-{i}" for i in range(8)]  # each case built once
    assert len(set(split_pids.values())) == 2  # ... in two processes
    split.stdout.fnmatch_lines(["*opsladder shadow: 8/8 cases*"])
    _, both_results, _ = _shadow(project, "--opsladder-workers=2", "--opsladder-concurrency=3")
    assert both_results["verdict"] == serial_results["verdict"]  # threads in each worker too
    assert _per_case(both_results) == _per_case(serial_results)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_workers_value_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, value: str
) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest(f"--opsladder-workers={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--opsladder-workers*{value!r}*auto*"])
