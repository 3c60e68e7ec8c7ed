"""Judge checks in a shadow session that runs candidates concurrently or in worker processes:
each case is graded as a serial session grades it (ladder level 7, issue 18)."""

from __future__ import annotations

import json

import pytest
from judge_servers import JudgeServer
from test_judge_record_replay import CONFTEST, _case

PARALLEL = [
    ["--opsladder-concurrency=3"],
    ["--opsladder-workers=2"],
    ["--opsladder-workers=2", "--opsladder-concurrency=2"],
]
IDS = ["threads", "processes", "both"]


@pytest.fixture(params=["sync", "async"])
def project(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    judge_server: JudgeServer,
    request: pytest.FixtureRequest,
) -> pytest.Pytester:
    """Eight recorded cases with a judge check; the agent a plain or a coroutine function."""
    conftest = CONFTEST
    if request.param == "async":  # the candidates then run as tasks on one event loop
        conftest = conftest.replace("    def agent(", "    async def agent(")
        assert "async def agent" in conftest
    pytester.makeconftest(conftest)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    (pytester.path / "nightmare_set").mkdir()
    for i in range(8):
        (pytester.path / f"nightmare_set/case-{i}.yaml").write_text(_case(i))
    monkeypatch.setenv("JUDGE_URL", judge_server.url)
    record = pytester.runpytest("nightmare_set", "--opsladder-mode=record", "-p", "no:randomly")
    record.assert_outcomes(passed=8)
    return pytester


def _graded(project: pytest.Pytester, *args: str) -> tuple[str, dict[str, tuple[object, ...]]]:
    """The session's verdict, and each case's (verdict, passed, judge score, judge calls)."""
    project.runpytest_subprocess("nightmare_set", "--opsladder-shadow", *args)
    results = json.loads((project.path / "reports/results.json").read_text())
    cases = {}
    for case in results["cases"]:
        run = case["candidate"]["runs"][0]
        metrics = run["metrics"]
        cases[case["case_id"]] = (case["verdict"], run["passed"], metrics["judge:one-sentence"],
                                  metrics["judge_calls"], metrics["judge_errors"])  # fmt: skip
    return results["verdict"], cases


@pytest.mark.parametrize("parallel", PARALLEL, ids=IDS)
def test_an_unchanged_candidate_replays_its_grades_as_a_serial_session_does(
    project: pytest.Pytester, parallel: list[str]
) -> None:
    serial = _graded(project, "--opsladder-candidate=prod")
    assert serial[1] == {f"case-{i}": ("unchanged", True, 5, 1, 0) for i in range(8)}
    assert _graded(project, "--opsladder-candidate=prod", *parallel) == serial


@pytest.mark.parametrize("parallel", PARALLEL, ids=IDS)
def test_a_candidate_graded_live_gets_the_serial_grades(
    project: pytest.Pytester, parallel: list[str], judge_server: JudgeServer
) -> None:
    live = ["--opsladder-candidate=rambling", "--opsladder-judge=live"]
    serial = _graded(project, *live)
    assert serial[0] == "fail"
    assert serial[1] == {f"case-{i}": ("regressed", False, 1, 1, 0) for i in range(8)}
    assert _graded(project, *live, *parallel) == serial
