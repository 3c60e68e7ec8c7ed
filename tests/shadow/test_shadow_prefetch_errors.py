"""A candidate run that ends in an error a serial item raises after the agent (an output a
cassette cannot store, a candidate cassette refused for a secret) is reported and scored the
same under --opsladder-concurrency and --opsladder-workers as serially (issue 18): the session
goes on, the case is a regression, never an internal error or a case silently left out."""

from __future__ import annotations

import json
from typing import Any

import pytest

CONFTEST = """
import os
import sys
import pytest
from pytest_opsladder import Variant, tool

@tool
def lookup(q: str) -> dict:
    return {"q": q}

class Odd:
    pass

def answer(variant, case_input):
    if os.environ.get("CALLS_LOG"):  # one line per call of the agent, from any process
        with open(os.environ["CALLS_LOG"], "a") as log:
            log.write(f"{variant.name}:{case_input['q']}\\n")
    lookup(case_input["q"])
    how = os.environ.get("AGENT_OUTCOME")
    if variant.name == "next" and case_input["q"] == "q2" and how:
        if how == "exit":
            sys.exit(3)  # a CLI agent's exit (click's standalone mode)
        getattr(pytest, how)("asked by the agent")  # pytest.skip, .fail or .xfail
    if variant.name == "next" and case_input["q"] == "q1":
        if os.environ["BAD_OUTPUT"] == "none":
            return {"answer": 1}
        if os.environ["BAD_OUTPUT"] == "secret":
            return {"answer": "sk-proj-Qz8rT2vX9mL4nB7cQz8rT2vX9mL4nB7c"}
        return {"answer": Odd()}
    return {"answer": 1}

def make_agent(variant):
    if os.environ.get("ASYNC_AGENT"):
        async def agent(case_input):
            return answer(variant, case_input)
    else:
        def agent(case_input):
            return answer(variant, case_input)
    return agent

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next")]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    if os.environ.get("HOOK_FAILS") and case.id == "c3":
        raise RuntimeError("no credentials for c3")
    if os.environ.get("HOOK_FAILS") and case.id == "c4":
        pytest.skip("c4 needs a GPU")
    return make_agent(variant)
"""
MODES = [[], ["--opsladder-concurrency=3"], ["--opsladder-workers=2"]]
MODE_IDS = ["serial", "threads", "processes"]
ERRORS = {"unstorable": "ToolArgumentError", "secret": "CassetteSecretError"}
# The serial verdict of c1: the run ended by the error, or complete with a failed check (its
# cassette refused after the run).
VERDICT = {"unstorable": "error", "secret": "regressed"}


@pytest.fixture(params=["sync", "async"])
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> pytest.Pytester:
    if request.param == "async":
        monkeypatch.setenv("ASYNC_AGENT", "1")
    monkeypatch.setenv("BAD_OUTPUT", "none")
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nopsladder_baseline = "prod"\n')
    (pytester.path / "nightmare_set").mkdir()
    for i in range(6):
        (pytester.path / f"nightmare_set/c{i}.yaml").write_text(
            f"id: c{i}\ninput: {{q: q{i}}}\nchecks:\n  - exact: {{path: answer, value: 1}}\n"
        )
    pytester.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=6)
    return pytester


def _shadow(project: pytest.Pytester, bad: str, mode: list[str]) -> tuple[Any, dict[str, Any]]:
    args = ["--opsladder-record-mode=all"] if bad == "secret" else []  # candidates written
    result = project.runpytest_subprocess(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=next", *args, *mode
    )
    return result, json.loads((project.path / "reports/results.json").read_text())


@pytest.mark.parametrize("bad", ["unstorable", "secret"])
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_an_error_after_the_agent_is_a_regression_in_every_mode(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, bad: str, mode: list[str]
) -> None:
    monkeypatch.setenv("BAD_OUTPUT", bad)
    result, results = _shadow(project, bad, mode)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out  # not an internal error
    assert "INTERNALERROR" not in out
    assert "shadow worker" not in out  # no worker process crashed on it
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == 1
    assert f"{ERRORS[bad]}: " in out  # the item of c1 says why, as a serial run does
    cases = {c["case_id"]: c for c in results["cases"]}
    assert sorted(cases) == [f"c{i}" for i in range(6)]  # none left out
    assert results["cases_lost"] == {}
    assert cases["c1"]["verdict"] == VERDICT[bad]
    assert cases["c1"]["candidate"]["runs"][0]["passed"] is False
    assert {cases[f"c{i}"]["verdict"] for i in (0, 2, 3, 4, 5)} == {"unchanged"}
    written = project.path / "nightmare_set/cassettes/c1/next.json"
    assert not written.exists() or "sk-proj-" not in written.read_text()


def _per_case(results: dict[str, Any]) -> dict[str, tuple[str, str, bool]]:
    runs = {c["case_id"]: (c["verdict"], c["candidate"]["runs"][0]) for c in results["cases"]}
    return {case: (verdict, run["status"], run["passed"]) for case, (verdict, run) in runs.items()}


@pytest.mark.parametrize("how", ["skip", "fail", "xfail", "exit"])
def test_pytest_outcomes_the_agent_raises_give_the_serial_results(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The agent calls pytest.skip/fail/xfail for one case: that case skips (a lost pair with
    the reason), fails or xfails in every mode, and the rest of the session runs."""
    monkeypatch.setenv("AGENT_OUTCOME", how)
    serial, serial_results = _shadow(project, "none", [])
    failed = pytest.ExitCode.TESTS_FAILED
    assert serial.ret == (failed if how in ("fail", "exit") else pytest.ExitCode.OK)
    for mode in MODES[1:]:
        result, results = _shadow(project, "none", mode)
        out = result.stdout.str()
        assert "INTERNALERROR" not in out
        assert "shadow worker" not in out
        assert result.ret == serial.ret, out
        assert result.parseoutcomes() == serial.parseoutcomes()
        assert _per_case(results) == _per_case(serial_results)
        assert results["cases_lost"] == serial_results["cases_lost"]
    if how == "skip":
        assert serial_results["cases_lost"]["c2"].endswith("asked by the agent")


@pytest.mark.parametrize("mode", MODES[1:], ids=MODE_IDS[1:])
def test_a_build_hook_that_raises_or_skips_fails_or_skips_its_case_only(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: list[str]
) -> None:
    monkeypatch.setenv("HOOK_FAILS", "1")
    result, results = _shadow(project, "none", mode)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes() == {"failed": 1, "passed": 5, "skipped": 1}  # 5: the gate
    assert "no credentials for c3" in out  # the hook's own message, in either process
    cases = _per_case(results)
    assert cases["c3"][0] == "error"
    assert "c4" not in cases
    assert results["cases_lost"]["c4"].endswith("c4 needs a GPU")
    assert {cases[f"c{i}"][0] for i in (0, 1, 2, 5)} == {"unchanged"}


# In file order (no shuffling), shares of 3 workers are [c0, c3] (the controller's own),
# [c1, c4] and [c2, c5]: the bad output (c1) and the agent's outcome (c2) run in a worker.
IN_WORKERS = ["--opsladder-workers=3", "-p", "no:randomly"]


@pytest.mark.parametrize(
    ("bad", "how"),
    [("unstorable", ""), ("secret", ""), ("none", "fail"), ("none", "exit"), ("none", "skip")],
    ids=["unstorable", "secret", "pytest.fail", "sys.exit", "pytest.skip"],
)
@pytest.mark.parametrize("mode", [MODES[1], IN_WORKERS], ids=MODE_IDS[1:])
def test_a_run_that_ends_in_its_items_error_calls_the_agent_once(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    bad: str,
    how: str,
    mode: list[str],
) -> None:
    """The error the item raises comes back with the run from a worker process: the case is
    not run a second time in the controller, so its model calls (paid, and perhaps answered
    differently) are made once, and the item reports the worker's own error."""
    log = project.path / "calls.log"
    monkeypatch.setenv("CALLS_LOG", str(log))
    monkeypatch.setenv("BAD_OUTPUT", bad)
    monkeypatch.setenv("AGENT_OUTCOME", how)
    result, results = _shadow(project, bad, mode)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    calls = sorted(log.read_text().split())
    assert calls == sorted(f"next:q{i}" for i in range(6)), out
    if bad in ERRORS:
        assert f"{ERRORS[bad]}: " in out  # the worker's own exception, type and message
    if how == "exit":
        assert "SystemExit: 3" in out or "SystemExit(3)" in out, out
    if how == "skip":
        assert results["cases_lost"]["c2"].endswith("asked by the agent")


class _NeedsAKeyword(Exception):
    def __init__(self, *, where: str) -> None:
        super().__init__(f"cannot store the output at {where}")


def test_an_error_that_does_not_unpickle_comes_back_named_with_its_type_and_message() -> None:
    from pytest_opsladder.drift.errors import ShadowWorkerRunError
    from pytest_opsladder.drift.worker_pool import item_error, rebuilt_item_error

    told = json.loads(json.dumps(item_error(_NeedsAKeyword(where="output.answer"))))
    rebuilt = rebuilt_item_error(told)
    assert isinstance(rebuilt, ShadowWorkerRunError)
    assert "_NeedsAKeyword: cannot store the output at output.answer" in str(rebuilt)
    assert "--opsladder-workers=1" in str(rebuilt)
    failed = rebuilt_item_error(json.loads(json.dumps(item_error(pytest.fail.Exception("no")))))
    assert isinstance(failed, pytest.fail.Exception)
    assert failed.msg == "no"


def test_our_errors_pickle_with_their_message_and_attributes() -> None:
    """What a worker hands back is the error itself, even where __init__ takes keywords."""
    import pickle

    from pytest_opsladder.drift.errors import GateConfigError
    from pytest_opsladder.secrets import CassetteSecretError, scan

    findings = scan({"output": "sk-proj-Qz8rT2vX9mL4nB7cQz8rT2vX9mL4nB7c"})
    secret = CassetteSecretError("refused", run_id="r1", json_path="$.output", findings=findings)
    back = pickle.loads(pickle.dumps(secret))
    assert type(back) is CassetteSecretError
    assert (str(back), back.run_id, back.json_path) == ("refused", "r1", "$.output")
    assert back.findings == findings
    assert len(findings) == 1
    gate = pickle.loads(pickle.dumps(GateConfigError("bad", key="alpha").in_file("gate.toml")))
    assert (str(gate), gate.key, str(gate.path)) == ("gate.toml: bad", "alpha", "gate.toml")
