"""A gate never passes what it cannot see: a candidate that crashes (its cost was never observed),
fails in teardown, skips cases, or faces unreadable, absent or short baselines is not a pass.
A user's project on the real openai SDK against the loopback wire server, through pytester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from user_projects import ASK_FIXTURE

TESTS = (
    ASK_FIXTURE
    + """
def hit(variant, i):
    return variant.name == "next" and i % 3 != 0

@pytest.fixture
def resource(opsladder_variant, request):
    yield
    i = request.node.callspec.params["i"]
    if os.environ.get("MODE") == "teardown" and hit(opsladder_variant, i):
        raise RuntimeError("teardown broke for the candidate")

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(30))
def test_answers(ask, opsladder_variant, resource, i):
    mode = os.environ.get("MODE")
    if mode == "skip" and hit(opsladder_variant, i):
        pytest.skip("not for the candidate")
    if mode == "skip_all" and opsladder_variant.name == "next":
        pytest.skip("not for the candidate")
    if mode == "raise" and opsladder_variant.name == "next" and i % 2 == 0:
        raise RuntimeError("the agent blew up before calling the model")
    assert ask(f"q{i}") == f"answer:q{i}"
"""
)

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"

[tool.opsladder.variants]
prod = {model = "gpt-4.1"}
next = {model = "gpt-4.1", params = {note = "candidate"}}

[tool.opsladder.prices]
"gpt-4.1" = {input = 2.0, output = 8.0}
"""
XDIST = [[], ["-n", "2"]]


@pytest.fixture
def project(pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=TESTS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    return pytester


def _gate(project: pytest.Pytester, gate: str) -> None:
    (Path(project.path) / "pyproject.toml").write_text(PYPROJECT + "[tool.opsladder.gate]\n" + gate)


def _record(project: pytest.Pytester, *args: str) -> None:
    project.runpytest("--opsladder-mode=record", "-q", *args).assert_outcomes(passed=30)


def _shadow(project: pytest.Pytester, mode: str, *args: str) -> pytest.RunResult:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODE", mode)
        return project.runpytest("--opsladder-shadow", "--opsladder-candidate=next", *args)


def _results(project: pytest.Pytester) -> dict:
    return json.loads((Path(project.path) / "reports" / "results.json").read_text())


def _metric(doc: dict, name: str) -> dict:
    return next(m for m in doc["metrics"] if m["name"] == name)


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_a_crashing_candidate_does_not_pass_a_cost_gate(project, xdist) -> None:
    _gate(project, 'cost = {worse = "higher", margin = "10%"}\n')
    _record(project)
    result = _shadow(project, "raise", *xdist)
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*cost*15 of 30 pair(s)*lost*"])
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"
    assert _metric(doc, "cost")["n_lost"] == 15
    errored = [r for c in doc["cases"] for r in c["candidate"]["runs"] if r["status"] == "error"]
    assert len(errored) == 15
    assert {r["metrics"]["cost"] for r in errored} == {None}  # not observed: never 0.0
    assert {r["metrics"]["tokens_in"] for r in errored} == {None}


@pytest.mark.parametrize("args", [[], ["-n", "2"], ["--opsladder-workers", "2"]],
                         ids=["serial", "xdist", "workers"])  # fmt: skip
def test_an_error_in_teardown_fails_the_candidate_run(project, args) -> None:
    _gate(project, 'pass_rate = {worse = "lower", margin = 0.1}\n')
    _record(project)
    result = _shadow(project, "teardown", *args)
    result.assert_outcomes(passed=30, errors=20, failed=1)  # the gate failed too
    result.stdout.fnmatch_lines(["*drift gate FAIL*",
                                 "*error in teardown: RuntimeError: teardown broke*"])  # fmt: skip
    doc = _results(project)
    assert doc["verdict"] == "fail"
    assert _metric(doc, "pass_rate")["candidate_summary"]["mean"] == pytest.approx(10 / 30)
    assert len(doc["regressed_cases"]) == 20


def test_an_unreadable_baseline_is_a_lost_pair(project) -> None:
    _gate(project, 'pass_rate = {worse = "lower", margin = 0.2}\n')
    _record(project)
    cassettes = sorted((Path(project.path) / "cassettes").rglob("prod*.json"))
    assert len(cassettes) == 30
    for broken in cassettes[:3]:
        broken.write_text('{"format": "garbage"')
    result = _shadow(project, "")
    result.assert_outcomes(passed=28, errors=3)
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*3 of 30 pair(s) (10.0%) are lost*"
                                 "3 with an unreadable baseline cassette*"])  # fmt: skip
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"
    assert len(doc["cases_missing_baseline"]) == 3
    assert all("unreadable baseline cassette" in why for why in doc["cases_lost"].values())
    assert _metric(doc, "pass_rate")["n_lost"] == 3


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_cases_the_candidate_skips_are_lost(project, xdist) -> None:
    _gate(project, 'pass_rate = {worse = "lower", margin = 0.2}\n')
    _record(project)
    result = _shadow(project, "skip", *xdist)
    assert result.ret == pytest.ExitCode.OK  # inconclusive: exit 0 without the flag
    result.stdout.fnmatch_lines(["*drift gate INCONCLUSIVE*20 of 30 pair(s)*lost*"
                                 "20 skipped by the candidate's test*"])  # fmt: skip
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"
    assert len(doc["cases_lost"]) == 20
    assert set(doc["cases_lost"].values()) == {
        "skipped by the candidate's test: Skipped: not for the candidate"
    }


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_no_paired_case_is_an_inconclusive_verdict_with_reports(project, xdist) -> None:
    junit = ["--opsladder-fail-on-inconclusive", "--junitxml=junit.xml"]
    result = _shadow(project, "", *junit, *xdist)  # nothing recorded
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no paired cases*", "*drift gate INCONCLUSIVE*"])
    reports = Path(project.path) / "reports"
    assert {"results.json", "summary.md", "junit.xml", "report.html"} <= {
        p.name for p in reports.iterdir()
    }
    assert _results(project)["verdict"] == "inconclusive"
    junit_xml = (Path(project.path) / "junit.xml").read_text()
    assert "drift gate INCONCLUSIVE" in junit_xml  # the gate is a failed test in JUnit

    _record(project)
    skipped = _shadow(project, "skip_all", "--opsladder-fail-on-inconclusive", *xdist)
    assert skipped.ret == pytest.ExitCode.TESTS_FAILED
    doc = _results(project)
    assert doc["verdict"] == "inconclusive"
    assert len(doc["cases_lost"]) == 30


CASES_CONFTEST = """
import os
import pytest
from openai import OpenAI

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return pytest_opsladder_build_agent(None, opsladder_variant, None, None)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    client = OpenAI(base_url=os.environ["WIRE_URL"] + "/v1", api_key="sk-test", max_retries=0)
    def agent(case_input):
        reply = client.chat.completions.create(
            model=variant.model, messages=[{"role": "user", "content": case_input["q"]}])
        return reply.choices[0].message.content
    return agent
"""


def test_missing_baseline_epochs_are_named_not_missing_baselines(project) -> None:
    _gate(project, 'pass_rate = {worse = "lower", margin = 0.2}\n')
    project.makeconftest(CASES_CONFTEST)
    cases = Path(project.path) / "nightmare_set"
    cases.mkdir()
    for i in range(30):
        (cases / f"case-{i}.yaml").write_text(
            f"id: case-{i}\ninput: {{q: q{i}}}\nchecks:\n  - contains: {{value: answer}}\n"
        )
    project.runpytest("--opsladder-mode=record", "nightmare_set").assert_outcomes(passed=30)
    result = _shadow(project, "", "nightmare_set", "--opsladder-epochs", "3")
    doc = _results(project)
    assert doc["cases_missing_baseline"] == []
    assert len(doc["cases_missing_baseline_epochs"]) == 30
    assert set(map(tuple, doc["cases_missing_baseline_epochs"].values())) == {(1, 2)}
    assert "--opsladder-epochs 3" in doc["verdict_reason"]
    assert _metric(doc, "pass_rate")["n_lost"] == 0
    result.stdout.fnmatch_lines(["*no baseline for epoch(s) 1, 2*--opsladder-epochs 3*"])
