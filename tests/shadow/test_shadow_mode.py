"""Shadow mode end to end through pytester: pairing, divergences, the gate, reports, xdist."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

XDIST = [[], ["-n", "2"]]

CONFTEST = """
import json, os
from pathlib import Path
import pytest
from pytest_opsladder import Variant, tool

SIDE_EFFECTS = Path(os.environ["SIDE_EFFECTS"])

@tool
def lookup(q: str) -> dict:
    return {"q": q, "value": len(q)}

@tool(outbound=True)
def send(to: str, text: str) -> str:
    with SIDE_EFFECTS.open("a") as fh:
        fh.write(json.dumps([to, text]) + "\\n")
    return "sent"

def make_agent(variant):
    def agent(case_input):
        if variant.params.get("explode") and case_input["q"].startswith("boom"):
            raise RuntimeError("the candidate crashed")
        found = lookup(case_input["q"])
        if variant.params.get("skip_lookup_twice"):
            lookup(case_input["q"] + "?")   # a call the baseline never made
        answer = found["value"] * variant.params.get("factor", 1)
        send("ops@example.com", f"answer {answer}")
        return {"answer": answer}
    return agent

def pytest_opsladder_variants():
    return [Variant("prod", params={"factor": 1}),
            Variant("same", params={"factor": 1}),
            Variant("worse", params={"factor": 2}),
            Variant("chatty", params={"factor": 1, "skip_lookup_twice": True}),
            Variant("crashy", params={"factor": 1, "explode": True})]

@pytest.fixture
def opsladder_agent(opsladder_variant):
    return make_agent(opsladder_variant)

def pytest_opsladder_build_agent(config, variant, case, workdir):
    return make_agent(variant)
"""

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"
"""
GATE = """
[tool.opsladder.gate]
pass_rate = {worse = "lower", margin = 0.45}
"""


def _cases(root: Path, n: int = 10) -> None:
    cases = root / "nightmare_set"
    cases.mkdir()
    for i in range(n):
        q = f"{'boom' if i < 8 else 'q'}{'x' * i}"
        value = len(q)
        (cases / f"case-{i}.yaml").write_text(
            f"id: case-{i}\ninput: {{q: {q}}}\ntags: [t{i % 2}]\nchecks:\n"
            f"  - exact: {{path: answer, value: {value}}}\n"
            "  - tool_trajectory: {mode: subset, calls: [lookup, send]}\n"
        )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml(PYPROJECT)
    _cases(pytester.path)
    monkeypatch.setenv("SIDE_EFFECTS", str(pytester.path / "side_effects.jsonl"))
    recorded = pytester.runpytest("nightmare_set", "--opsladder-mode=record")
    recorded.assert_outcomes(passed=10)
    (pytester.path / "side_effects.jsonl").unlink()
    return pytester


def _results(project: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads((project.path / "reports/results.json").read_text())
    return data


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
def test_regressing_candidate_fails_the_gate_as_its_own_test(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=worse",
        "--junitxml=junit-pytest.xml", *xdist,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED opsladder::gate*pass_rate*", "*1 failed, 10 passed*"])
    results = _results(project)
    assert results["verdict"] == "fail"
    assert results["n_cases"] == 10
    assert [c["verdict"] for c in results["cases"]].count("regressed") == 10  # type: ignore[union-attr]
    assert not (project.path / "side_effects.jsonl").exists(), "shadow executed a tool"
    junit = ET.parse(project.path / "junit-pytest.xml").getroot()
    gate = [
        tc
        for tc in junit.iter("testcase")
        if (tc.get("classname"), tc.get("name")) == ("opsladder", "gate")
    ]
    assert len(gate) == 1
    assert gate[0].find("failure") is not None
    for name in ("report.html", "summary.md", "junit.xml"):
        assert (project.path / "reports" / name).is_file()


def test_identical_candidate_passes_the_gate(project: pytest.Pytester) -> None:
    # a pass is a claim of non-inferiority: ten identical cases bound the drop at about 0.42
    # (one-sided 99%), so a margin of 0.45 passes and 0.35 would be inconclusive (issue 21)
    (project.path / "pyproject.toml").write_text(PYPROJECT + GATE)
    result = project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*drift gate PASS*", "*11 passed*"])
    results = _results(project)
    assert results["verdict"] == "pass"
    assert all(c["first_divergence"] is None for c in results["cases"])  # type: ignore[union-attr,index]


@pytest.mark.parametrize(
    ("policy", "candidate_status", "kind"),
    [
        ("nearest", "complete", "tool"),
        ("error", "error", "tool"),
        ("stop", "error", "tool"),  # the stopped call is kept: both sides, as with error
    ],
)
def test_divergence_is_recorded_with_both_sides_and_answered_by_policy(
    project: pytest.Pytester, policy: str, candidate_status: str, kind: str
) -> None:
    project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=chatty",
        f"--opsladder-divergence={policy}",
    )  # fmt: skip
    case = next(c for c in _results(project)["cases"] if c["case_id"] == "case-9")  # type: ignore[union-attr,index]
    divergence = case["first_divergence"]
    assert divergence["step"] == 1
    assert divergence["kind"] == kind
    assert divergence["baseline"] == {
        "tool": "send",
        "args": {"to": "ops@example.com", "text": "answer 10"},
    }
    assert divergence["candidate"] == {"tool": "lookup", "args": {"q": "qxxxxxxxxx?"}}
    assert case["candidate"]["runs"][0]["status"] == candidate_status
    assert not (project.path / "side_effects.jsonl").exists()


def test_candidate_that_raises_is_counted_as_an_error(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=crashy"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cases = _results(project)["cases"]
    errored = [c for c in cases if c["candidate"]["runs"][0]["status"] == "error"]  # type: ignore[union-attr,index]
    assert len(errored) == 8


def test_case_without_baseline_is_reported_not_a_crash(project: pytest.Pytester) -> None:
    (project.path / "nightmare_set/new-case.yaml").write_text("id: new-case\ninput: {q: new}\n")
    result = project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same")
    result.assert_outcomes(passed=11, skipped=1)
    assert "new-case" in _results(project)["cases_missing_baseline"]  # type: ignore[operator]


def test_concurrent_candidates_give_the_same_verdict(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=worse",
        "--opsladder-concurrency=4",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _results(project)["verdict"] == "fail"
    assert not (project.path / "side_effects.jsonl").exists()


@pytest.mark.parametrize("xdist", XDIST, ids=["serial", "xdist"])
@pytest.mark.parametrize("table", ["", "alpha = 0.05\n"], ids=["empty", "settings-only"])
def test_a_gate_table_that_names_no_metric_still_gates_the_pass_rate(
    project: pytest.Pytester, table: str, xdist: list[str]
) -> None:
    # seen: `[tool.opsladder.gate]` with only `alpha = 0.05` gated nothing, and the gate
    # PASSED ("no metric is gated") while every case regressed
    (project.path / "pyproject.toml").write_text(PYPROJECT + "[tool.opsladder.gate]\n" + table)
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=worse", *xdist
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*FAILED opsladder::gate*pass_rate*"])
    results = _results(project)
    assert results["verdict"] == "fail"
    assert [m["name"] for m in results["metrics"] if m["gated"]] == ["pass_rate"]  # type: ignore[union-attr,index]


def test_unknown_gate_metric_is_a_usage_error_naming_it(project: pytest.Pytester) -> None:
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(PYPROJECT + GATE.replace("pass_rate =", "pass_rat ="))
    result = project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pass_rat*pass_rate*"])


def test_missing_candidate_is_a_usage_error_listing_variants(project: pytest.Pytester) -> None:
    result = project.runpytest("nightmare_set", "--opsladder-shadow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--opsladder-candidate*same, worse, chatty, crashy*"])


def test_progress_lines_show_cases_done_and_divergences(project: pytest.Pytester) -> None:
    loud = project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=chatty")
    loud.stdout.fnmatch_lines(
        [
            "*opsladder shadow: 5/10 cases, 5 divergent*",
            "*opsladder shadow: 10/10 cases, 10 divergent, 0 live calls*",
        ]
    )


def test_quiet_run_prints_no_progress(project: pytest.Pytester) -> None:
    quiet = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same", "-q"
    )
    assert "opsladder shadow:" not in quiet.stdout.str()


def test_failed_gate_raises_an_alert_through_the_l1_sinks(project: pytest.Pytester) -> None:
    alerts = project.path / "alerts.jsonl"
    project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same",
                      f"--opsladder-gate-alert=file:{alerts}")  # fmt: skip
    assert not alerts.exists(), "a gate that did not fail raised an alert"
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=worse",
        f"--opsladder-gate-alert=file:{alerts}",
    )  # fmt: skip
    result.stdout.fnmatch_lines([f"*alert via *{alerts.name}*: ok*"])
    alert = json.loads(alerts.read_text().splitlines()[0])
    assert alert["name"] == "drift-gate"
    assert alert["severity"] == "critical"
    assert alert["details"]["candidate"] == "worse"
    assert alert["details"]["failed_metrics"] == ["pass_rate"]


def test_ci_shards_merge_into_one_verdict(project: pytest.Pytester) -> None:
    for shard, selection in (
        ("job-a", "case-0 or case-1 or case-2 or case-3 or case-4"),
        ("job-b", "not (case-0 or case-1 or case-2 or case-3 or case-4)"),
    ):
        project.runpytest("nightmare_set", "--opsladder-shadow", "--opsladder-candidate=worse",
                          f"--opsladder-shard={shard}", "-k", selection)  # fmt: skip
    shards = sorted((project.path / "reports/shards").glob("*.jsonl"))
    assert [p.name for p in shards] == ["job-a.jsonl", "job-b.jsonl"]
    merged = project.path / "merged.json"
    result = project.run(
        sys.executable, "-m", "pytest_opsladder.cli", "merge", *map(str, shards), "-o", str(merged)
    )
    assert result.ret in (0, 1), result.stderr.str()
    results = json.loads(merged.read_text())
    assert results["n_cases"] == 10  # the two halves, paired and scored together
    assert results["verdict"] == "fail"


def test_epochs_record_k_baselines_and_give_an_aa_noise_floor(project: pytest.Pytester) -> None:
    recorded = project.runpytest("nightmare_set", "--opsladder-mode=record", "--opsladder-epochs=2")
    recorded.assert_outcomes(passed=20)  # epoch 0 replays, epoch 1 is recorded
    assert (project.path / "nightmare_set/cassettes/case-3/prod.e1.json").is_file()
    project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=same", "--opsladder-epochs=2"
    )
    results = _results(project)
    assert results["epochs"] == {"baseline": 2, "candidate": 2}
    assert results["n_cases"] == 10  # epochs are reduced per case, never counted as cases
    assert results["aa_noise_floor"] is not None


def test_variants_from_pyproject_and_extra_metrics_from_the_hook(
    project: pytest.Pytester,
) -> None:
    (project.path / "pyproject.toml").write_text(
        PYPROJECT + "\n[tool.opsladder.variants]\ntoml-worse = {params = {factor = 3}}\n"
    )
    project.makeconftest(
        CONFTEST
        + "\ndef pytest_opsladder_run_metrics(run):\n"
        + "    return {'answer_len': len(str(run.output))}\n"
    )
    result = project.runpytest(
        "nightmare_set", "--opsladder-shadow", "--opsladder-candidate=toml-worse"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    names = [m["name"] for m in _results(project)["metrics"]]  # type: ignore[union-attr,index]
    assert "answer_len" in names


def test_a_bad_variant_table_in_pyproject_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "pyproject.toml").write_text(
        PYPROJECT + '\n[tool.opsladder.variants]\nnext = {modle = "gpt-5"}\n'
    )
    result = project.runpytest("nightmare_set")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyproject.toml*next*modle*model, prompt and params*"])
