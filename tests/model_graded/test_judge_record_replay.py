"""Judge checks in a fresh project: recorded with the run, replayed offline identically,
stale when the rubric changes, graded live in shadow only when asked (ladder level 7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from judge_servers import BAD_CONTENT, JudgeServer

from pytest_opsladder.cli import main

XDIST = [[], ["-n", "2"]]

CONFTEST = """
import os
import pytest
from pytest_opsladder import Variant, configure_judge

configure_judge(model="demo-judge-1", base_url=os.environ["JUDGE_URL"])

def pytest_opsladder_variants():
    return [Variant("prod", params={"sentences": 1}), Variant("rambling", params={"sentences": 3})]

def make_agent(variant):
    def agent(case_input):
        n = variant.params["sentences"]
        return {"summary": " ".join(f"{case_input['topic']} point {i}." for i in range(n))}
    return agent

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    return make_agent(variant)
"""

PLAIN_TEST = """
from pytest_opsladder import judge

def test_summary_mentions_the_topic(opsladder_run, opsladder_agent):
    out = opsladder_agent({"topic": "ops"})
    verdict = judge(out, 'The summary mentions "ops".', name="mentions-ops", path="summary")
    assert verdict.passed, verdict.reason
"""

RUBRIC = "The summary states the main point in one sentence."


def _case(i: int, rubric: str = RUBRIC, scale: str = "{min: 1, max: 5, threshold: 5}") -> str:
    return (
        f"id: case-{i}\ninput: {{topic: topic{i}}}\nchecks:\n"
        f"  - judge: {{name: one-sentence, rubric: {json.dumps(rubric)}, path: summary, "
        f"scale: {scale}}}\n"
    )


@pytest.fixture
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, judge_server: JudgeServer
) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    pytester.makepyfile(test_plain=PLAIN_TEST)
    (pytester.path / "nightmare_set").mkdir()
    for i in range(4):
        (pytester.path / f"nightmare_set/case-{i}.yaml").write_text(_case(i))
    monkeypatch.setenv("JUDGE_URL", judge_server.url)
    return pytester


def _judge_events(root: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.rglob("*.json")):
        if "reports" in path.parts:
            continue
        raw = json.loads(path.read_text())
        run = raw.get("run", raw)
        events = [json.loads(e) if isinstance(e, str) else e for e in run.get("events", [])]
        found[str(path.relative_to(root))] = [e["data"] for e in events if e.get("kind") == "judge"]
    return found


def _record(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("--opsladder-mode=record", "-p", "no:randomly", *args)


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_record_then_replay_offline_gives_identical_scores(
    project: pytest.Pytester, judge_server: JudgeServer, xdist: list[str]
) -> None:
    _record(project, *xdist).assert_outcomes(passed=5)
    recorded = _judge_events(project.path)
    assert sum(len(v) for v in recorded.values()) == 5
    scores = sorted((e["name"], e["score"], e["reason"]) for v in recorded.values() for e in v)
    assert scores[0] == ("mentions-ops", 1, "The output meets every point of the rubric.")
    calls_while_recording = judge_server.requests
    judge_server.stop()  # replay must not need the judge
    replayed = project.runpytest(*xdist)
    replayed.assert_outcomes(passed=5)
    assert judge_server.requests == calls_while_recording
    assert _judge_events(project.path) == recorded  # replay rewrites nothing


def test_a_failing_grade_fails_the_case_with_the_judges_reason_in_both_modes(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    (project.path / "nightmare_set/case-9.yaml").write_text(
        _case(9, rubric='The summary mentions "kubernetes".', scale="pass_fail")
    )
    recorded = _record(project)
    recorded.assert_outcomes(passed=5, failed=1)
    judge_server.stop()
    replayed = project.runpytest()
    replayed.assert_outcomes(passed=5, failed=1)
    for result in (recorded, replayed):
        result.stdout.fnmatch_lines(
            ["*judge 'one-sentence' scored 0: *does not mention 'kubernetes'*"]
        )


def test_a_changed_rubric_makes_the_recorded_call_stale_and_says_so(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    _record(project).assert_outcomes(passed=5)
    (project.path / "nightmare_set/case-0.yaml").write_text(_case(0, rubric=RUBRIC + " Be brief."))
    result = project.runpytest()
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*JudgeNotRecordedError: judge 'one-sentence': the recorded judge call is stale: the "
            "rubric changed*--opsladder-mode=record*"
        ]
    )


def test_judge_tokens_are_counted_apart_from_the_agents(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    _record(project).assert_outcomes(passed=5)
    cassette = project.path / "nightmare_set/cassettes/case-0/prod.json"
    raw = json.loads(cassette.read_text())
    metrics = raw.get("run", raw)["metrics"]
    assert metrics["judge:one-sentence"] == 5
    assert metrics["judge_calls"] == 1
    assert metrics["judge_tokens_in"] > 0
    assert metrics["judge_tokens_out"] > 0
    assert metrics["tokens_in"] == 0  # the agent made no LLM call; the judge's are not its own


def test_judge_down_while_recording_is_an_error_result_naming_the_check(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    judge_server.stop()
    result = _record(project, "nightmare_set")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["*JudgeUnavailableError: judge 'one-sentence': *did not answer*"])
    events = [e for v in _judge_events(project.path).values() for e in v]
    assert len(events) == 4  # the failed calls are recorded, nothing lost
    assert all("did not answer" in e["error"] and "score" not in e for e in events)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("garbage", "*JudgeReplyError*not JSON*"),
        ("out_of_range", "*JudgeReplyError*score 9 is out of range 1..5*"),
        ("no_score", '*JudgeReplyError*no "score"*'),
    ],
)
def test_a_judge_reply_that_is_not_a_verdict_is_an_error_never_a_pass(
    project: pytest.Pytester, judge_server: JudgeServer, mode: str, message: str
) -> None:
    judge_server.mode = mode
    result = _record(project, "nightmare_set")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines([message])


def test_shadow_grades_the_candidate_live_only_when_asked_and_the_gate_fails(
    project: pytest.Pytester,
) -> None:
    xdist: list[str] = []
    for i in range(4, 8):  # eight regressions of eight cases: significant at alpha 0.01
        (project.path / f"nightmare_set/case-{i}.yaml").write_text(_case(i))
    _record(project, "nightmare_set").assert_outcomes(passed=8)
    live = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=rambling",
        "--opsladder-judge=live", *xdist,
    )  # fmt: skip
    assert live.ret == pytest.ExitCode.TESTS_FAILED
    results = json.loads((project.path / "reports/results.json").read_text())
    assert [c["verdict"] for c in results["cases"]].count("regressed") == 8
    case = results["cases"][0]
    assert case["baseline"]["runs"][0]["metrics"]["judge:one-sentence"] == 5  # as recorded
    assert case["candidate"]["runs"][0]["metrics"]["judge:one-sentence"] == 1  # graded live
    replay = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=rambling", *xdist
    )
    assert replay.ret == pytest.ExitCode.TESTS_FAILED  # not graded is never a pass
    results = json.loads((project.path / "reports/results.json").read_text())
    candidate = results["cases"][0]["candidate"]["runs"][0]
    assert candidate["metrics"]["judge:one-sentence"] is None  # missing, not a score
    assert candidate["metrics"]["judge_errors"] == 1
    assert candidate["passed"] is False


def test_an_invalid_judge_mode_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--opsladder-judge=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--opsladder-judge=sometimes: 'sometimes' is not a valid judge mode*replay, live*"]
    )


PLAIN_DOWN_TEST = """
import pytest
from pytest_opsladder.model_graded import JudgeUnavailableError
from pytest_opsladder import judge

def test_graded_while_the_judge_is_down(opsladder_run, opsladder_agent):
    out = opsladder_agent({"topic": "ops"})
    opsladder_run.output = out
    with pytest.raises(JudgeUnavailableError, match="did not answer"):
        judge(out, 'The summary mentions "ops".', name="down", path="summary",
              model={"base_url": "http://127.0.0.1:9/v1"})
"""


def test_a_judge_down_while_recording_leaves_a_cassette_that_replays_its_error(
    project: pytest.Pytester, judge_server: JudgeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    project.makepyfile(test_down=PLAIN_DOWN_TEST)
    judge_server.stop()
    _record(project, "nightmare_set", "test_down.py").assert_outcomes(passed=1, failed=4)
    plain = project.path.glob("cassettes/**/test_graded_while_the_judge_is_down/*.json")
    for cassette in [project.path / "nightmare_set/cassettes/case-0/prod.json", *plain]:
        metrics = json.loads(cassette.read_text())["run"]["metrics"]
        judged = [v for k, v in metrics.items() if k.startswith("judge:")]
        assert judged == [None]  # missing, written as JSON can: never NaN, never 0
        assert metrics["judge_errors"] == 1
    assert main(["cassette", "validate", "nightmare_set", "cassettes"]) == 0, capsys.readouterr()
    replayed = project.runpytest("nightmare_set", "test_down.py")
    replayed.assert_outcomes(passed=1, failed=4)  # no setup error: every cassette loads
    replayed.stdout.fnmatch_lines(
        [
            "*JudgeUnavailableError: judge 'one-sentence': this call failed when the run was "
            "recorded: the judge model *did not answer*--opsladder-record-mode=new_episodes*"
        ]
    )


@pytest.mark.parametrize(
    ("mode", "shown"),
    [("nan_score", "nan"), ("huge_score", "inf"), ("minus_infinity", "-inf")],
)
def test_a_score_that_is_not_a_finite_number_is_a_recorded_reply_error(
    project: pytest.Pytester, judge_server: JudgeServer, mode: str, shown: str
) -> None:
    judge_server.mode = mode
    recorded = _record(project, "nightmare_set")
    recorded.assert_outcomes(failed=4)
    message = f"*JudgeReplyError: judge 'one-sentence': not a verdict: the score {shown} is not*"
    recorded.stdout.fnmatch_lines([message])
    events = [e for v in _judge_events(project.path).values() for e in v]
    assert len(events) == 4  # the paid calls are recorded, with the judge's reply
    assert all(e["error_type"] == "JudgeReplyError" and "score" not in e for e in events)
    assert all(e["response"]["text"] == BAD_CONTENT[mode] for e in events)
    judge_server.stop()
    replayed = project.runpytest("nightmare_set")
    replayed.assert_outcomes(failed=4)
    replayed.stdout.fnmatch_lines([message])


def test_token_counts_a_judge_server_gives_as_nan_are_left_out_and_the_cassette_replays(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    judge_server.mode = "nan_usage"
    _record(project, "nightmare_set").assert_outcomes(passed=4)
    events = [e for v in _judge_events(project.path).values() for e in v]
    assert [e["usage"] for e in events] == [{}] * 4  # unknown, not NaN
    judge_server.stop()
    project.runpytest("nightmare_set").assert_outcomes(passed=4)


def test_new_episodes_saves_a_judge_call_made_live_and_keeps_the_stale_one(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    _record(project, "nightmare_set").assert_outcomes(passed=4)
    case_0 = project.path / "nightmare_set/case-0.yaml"
    case_0.write_text(_case(0, rubric=RUBRIC + " Be brief."))
    before = judge_server.requests
    _record(project, "nightmare_set", "--opsladder-record-mode=new_episodes").assert_outcomes(
        passed=4
    )
    assert judge_server.requests == before + 1  # only the changed check was graded live
    judge_server.stop()
    project.runpytest("nightmare_set").assert_outcomes(passed=4)  # the new call was saved
    case_0.write_text(_case(0))
    project.runpytest("nightmare_set").assert_outcomes(passed=4)  # and the stale one kept


SURROGATE_TEST = """
from pytest_opsladder import judge

def test_a_file_name_that_is_not_utf8(opsladder_run):
    out = "wrote " + b"caf\\xe9.txt".decode("utf-8", "surrogateescape") + "."
    opsladder_run.output = out
    verdict = judge(out, 'The output mentions "caf".', name="names-file")
    assert verdict.passed, verdict.reason
"""


def test_an_output_with_undecodable_bytes_is_graded_and_replays(
    project: pytest.Pytester, judge_server: JudgeServer
) -> None:
    project.makepyfile(test_surrogate=SURROGATE_TEST)
    _record(project, "test_surrogate.py").assert_outcomes(passed=1)
    assert judge_server.requests == 1
    [event] = [e for v in _judge_events(project.path).values() for e in v]
    assert event["request"]["messages"][1]["content"].endswith("OUTPUT:\nwrote caf\\udce9.txt.")
    judge_server.stop()
    project.runpytest("test_surrogate.py").assert_outcomes(passed=1)
