"""Issue 12 in shadow mode, end to end through pytester: async agents, outcomes from the user's
test (failures, setup errors, skips), verdicts a CI can act on, progress, the public settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

XDIST = [[], ["-n", "2"]]

CONFTEST = """
import asyncio, os, time
import pytest
import pytest_opsladder
from pytest_opsladder import Variant, tool

@tool
def lookup(q: str) -> dict:
    return {"q": q, "n": len(q)}

def make_agent(variant):
    async def agent(case_input):            # an async agent, as agent frameworks write them
        await asyncio.sleep(0)
        q = case_input["q"] + ("!" if variant.params.get("drift") else "")
        return {"n": lookup(q)["n"] - len(q) + len(case_input["q"])}
    return agent

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("same", params={"same": 1}),
            Variant("drifty", params={"drift": 1}), Variant("flaky", params={"flaky": 1})]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    if os.environ.get("SLOW_SETUP"):
        time.sleep(0.3)                     # a slow fixture: not the agent's latency
    return make_agent(opsladder_variant)

@pytest.fixture
def db(opsladder_variant):
    if opsladder_variant.params.get("flaky"):
        raise RuntimeError("the candidate's database is down")
    return {}

def pytest_report_header(config):
    s = pytest_opsladder.settings(config)
    return (f"opsladder-settings mode={s.mode} record={s.record_mode} variant={s.variant} "
            f"candidate={s.candidate}")
"""

PLAIN_TESTS = """
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(6))
def test_plain(opsladder_agent, opsladder_variant, db, i):
    if i == 5 and opsladder_variant.params.get("same"):
        pytest.skip("not applicable to this variant")
    assert opsladder_agent({"q": "x" * i}) == {"n": i}, "wrong count"
"""

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"
"""


def _cases(root: Path, n: int = 4) -> None:
    cases = root / "nightmare_set"
    cases.mkdir()
    for i in range(n):
        (cases / f"case-{i}.yaml").write_text(
            f"id: case-{i}\ninput: {{q: {'y' * (i + 1)}}}\nchecks:\n"
            f"  - exact: {{path: n, value: {i + 1}}}\n"
        )


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(test_plain=PLAIN_TESTS)
    _cases(Path(pytester.path))
    return pytester


def _results(pytester: pytest.Pytester) -> dict:
    return json.loads((Path(pytester.path) / "reports" / "results.json").read_text())


def _no_progress_past_100(lines: list[str]) -> None:
    percents = [int(p) for line in lines for p in re.findall(r"\[\s*(\d+)%\]", line)]
    assert percents
    assert max(percents) == 100


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_async_agent_outcomes_and_verdicts(project: pytest.Pytester, xdist: list[str]) -> None:
    rec = project.runpytest("--opsladder-mode=record", *xdist)
    rec.assert_outcomes(passed=10)
    rec.stdout.fnmatch_lines(["*opsladder-settings mode=record record=once variant=prod*"])
    project.runpytest(*xdist).assert_outcomes(passed=10)  # replay: the async agent awaited

    # An identical candidate: nothing regresses; the skip is excluded and counted.
    same = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same", *xdist)
    same.stdout.fnmatch_lines(["*opsladder-settings mode=shadow*candidate=same*",
                               "*skipped by their test (not paired): 1 case(s)*"])  # fmt: skip
    _no_progress_past_100(same.stdout.lines)
    doc = _results(project)
    assert doc["n_cases"] == 9
    assert list(doc["cases_skipped"]) == ["test_plain.py::test_plain[5]"]
    assert not doc["regressed_cases"]
    verdict = doc["verdict"]
    assert same.ret == (pytest.ExitCode.OK if verdict != "fail" else pytest.ExitCode.TESTS_FAILED)
    if verdict == "inconclusive":  # a CI can make an inconclusive gate fail
        strict = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same",
                                   "--opsladder-fail-on-inconclusive", *xdist)  # fmt: skip
        assert strict.ret == pytest.ExitCode.TESTS_FAILED
        strict.stdout.fnmatch_lines(["*--opsladder-fail-on-inconclusive*"])

    # A candidate whose own setup fails: every plain case is an error result, named with why.
    flaky = project.runpytest("--opsladder-shadow", "--opsladder-candidate=flaky", *xdist)
    flaky.stdout.fnmatch_lines(
        ["*regressed cases (6;*", "*test_plain?0?: RuntimeError: the candidate's database is down*"]
    )
    doc = _results(project)
    failed = {c["case_id"]: c["reason"] for c in doc["regressed_cases"]}
    assert set(failed) == {f"test_plain.py::test_plain[{i}]" for i in range(6)}


def test_ini_key_fails_an_inconclusive_gate_and_async_prefetch(project: pytest.Pytester) -> None:
    project.runpytest("--opsladder-mode=record").assert_outcomes(passed=10)
    (Path(project.path) / "pyproject.toml").write_text(
        PYPROJECT + "opsladder_fail_on_inconclusive = true\n"
    )
    result = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same",
                               "--opsladder-concurrency=3", "nightmare_set")  # fmt: skip
    doc = _results(project)
    assert doc["n_cases"] == 4
    assert result.ret == (pytest.ExitCode.TESTS_FAILED if doc["verdict"] != "pass"
                          else pytest.ExitCode.OK)  # fmt: skip
    _no_progress_past_100(result.stdout.lines)
    result.stdout.fnmatch_lines(["*opsladder shadow: 4/4 cases*"])


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_zero_paired_cases_say_what_is_missing(project: pytest.Pytester, xdist: list[str]) -> None:
    none = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same", *xdist)
    assert none.ret == pytest.ExitCode.OK  # every case skipped: no baseline to shadow
    none.stdout.fnmatch_lines(["*no paired cases*", "*10 case(s) have no baseline cassette*",
                               "*pytest --opsladder-mode=record*"])  # fmt: skip
    assert "Traceback" not in none.stdout.str()
    nothing = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same", "-k",
                                "no_such_test", *xdist)  # fmt: skip
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    nothing.stdout.fnmatch_lines(["*no paired cases*"])
    listing = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same",
                                "--collect-only", *xdist)  # fmt: skip
    assert listing.ret == pytest.ExitCode.OK
    assert "Traceback" not in listing.stdout.str() + listing.stderr.str()


def test_stop_reports_args_with_both_sides_and_latency_is_the_agent(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLOW_SETUP", "1")
    project.runpytest("--opsladder-mode=record", "nightmare_set").assert_outcomes(passed=4)
    cassette = next((Path(project.path) / "nightmare_set").rglob("*.json"))
    stored = json.loads(cassette.read_text())["run"]
    assert stored["metrics"]["latency_s"] < 0.2 <= stored["manifest"]["duration_s"]
    monkeypatch.delenv("SLOW_SETUP")
    result = project.runpytest("--opsladder-shadow", "--opsladder-candidate=drifty",
                               "--opsladder-divergence=stop", "nightmare_set")  # fmt: skip
    result.stdout.fnmatch_lines(["*first divergence: step 1: 'lookup' called with other "
                                 "arguments: q: *"])  # fmt: skip
    fd = _results(project)["cases"][0]["first_divergence"]
    assert fd["kind"] == "args"
    assert fd["baseline"]["args"]["q"] + "!" == fd["candidate"]["args"]["q"]


def test_concurrency_without_the_build_hook_warns_once(project: pytest.Pytester) -> None:
    project.runpytest("--opsladder-mode=record", "nightmare_set").assert_outcomes(passed=4)
    result = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same",
                               "--opsladder-concurrency=4", "nightmare_set")  # fmt: skip
    assert result.stdout.str().count("--opsladder-concurrency 4 has no effect") == 1
    args = ["--opsladder-shadow", "--opsladder-candidate=same", "nightmare_set"]
    project.runpytest(*args, "--opsladder-record-mode=once")  # writes candidate cassettes
    again = project.runpytest(*args)
    again.stdout.fnmatch_lines(["*4 candidate run(s) were replayed from existing candidate "
                                "cassettes instead of calling the model*"])  # fmt: skip
