"""Done when (issue 12): a new user's project, plain pytest tests with assertions over an agent
on the real openai SDK, recorded against a loopback OpenAI-compatible server, then shadowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from user_projects import ASK_FIXTURE

TESTS = (
    ASK_FIXTURE
    + """
@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(40))
def test_answers(ask, i):
    assert ask(f"q{i}") == f"answer:q{i}", "the agent answered the wrong thing"
"""
)

PYPROJECT = """
[tool.pytest.ini_options]
opsladder_baseline = "prod"

[tool.opsladder.variants]
prod = {model = "gpt-4.1-2025-04-14"}
same = {model = "gpt-4.1-2025-04-14", params = {note = "identical"}}
broken = {model = "gpt-4.1-broken"}

[tool.opsladder.prices]
"gpt-4.1" = {input = 2.0, output = 8.0}
"gpt-4.1-broken" = {input = 2.0, output = 8.0}
"""
MARGIN = """
[tool.opsladder.gate]
pass_rate = {worse = "lower", margin = 0.15}
"""


@pytest.fixture
def project(pytester: pytest.Pytester, wire, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("WIRE_URL", wire.url)
    pytester.makepyfile(test_agent=TESTS)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.runpytest("--opsladder-mode=record", "-q").assert_outcomes(passed=40)
    return pytester


def _results(pytester: pytest.Pytester) -> dict:
    return json.loads((Path(pytester.path) / "reports" / "results.json").read_text())


def _broken_candidate_fails(project: pytest.Pytester, xdist: list[str]) -> None:
    result = project.runpytest("--opsladder-shadow", "--opsladder-candidate=broken", *xdist)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*drift gate FAIL*",
            "*regressed cases (16;*",
            "*test_answers?0?: AssertionError: the agent answered the wrong thing*",
        ]
    )
    summary = result.stdout.lines[
        result.stdout.lines.index(
            next(line for line in result.stdout.lines if "opsladder shadow verdict" in line)
        ) :
    ]
    listed = [line.strip().split(": ")[0] for line in summary
              if line.startswith("    test_agent.py::")]  # fmt: skip
    failing = {f"test_agent.py::test_answers[{i}]" for i in range(40) if i % 10 < 4}
    assert len(listed) == 10
    assert set(listed) <= failing
    result.stdout.fnmatch_lines(["*and 6 more*"])
    doc = _results(project)
    assert doc["verdict"] == "fail"
    pass_rate = next(m for m in doc["metrics"] if m["name"] == "pass_rate")
    assert pass_rate["n"] == 40
    assert len(doc["regressed_cases"]) == 16


def _identical_candidate_passes(project: pytest.Pytester, xdist: list[str]) -> None:
    (Path(project.path) / "pyproject.toml").write_text(PYPROJECT + MARGIN)
    passed = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same", *xdist)
    assert passed.ret == pytest.ExitCode.OK
    passed.stdout.fnmatch_lines(["*drift gate PASS*"])
    doc = _results(project)
    assert doc["verdict"] == "pass"
    assert not [m["name"] for m in doc["metrics"] if m.get("verdict") == "fail"]
    assert not [m["name"] for m in doc["metrics"] if m["name"].startswith(("http_", "_"))]
    # identical on every pair: listed once as unchanged, with its value, and not tested
    unchanged = {m["name"]: m["value"] for m in doc["unchanged_metrics"]}
    assert unchanged["tokens_out"] == 3
    assert "tokens_out" not in [m["name"] for m in doc["metrics"]]
    case = doc["cases"][0]
    for side in ("baseline", "candidate"):
        metrics = case[side]["runs"][0]["metrics"]
        assert (metrics["tokens_in"], metrics["tokens_out"]) == (12, 3)
        assert metrics["cost"] == pytest.approx((12 * 2.0 + 3 * 8.0) / 1e6)


def test_serial_gate_fails_broken_assertions_and_passes_an_identical_candidate(project) -> None:
    _broken_candidate_fails(project, [])
    default = project.runpytest("--opsladder-shadow", "--opsladder-candidate=same")
    assert default.ret == pytest.ExitCode.OK  # the default 5-point margin: nothing flagged
    doc = _results(project)
    assert not [m["name"] for m in doc["metrics"] if m.get("verdict") == "fail"]
    assert not doc["regressed_cases"]
    _identical_candidate_passes(project, [])


def test_xdist_gate_fails_broken_assertions_and_passes_an_identical_candidate(project) -> None:
    _broken_candidate_fails(project, ["-n", "2"])
    _identical_candidate_passes(project, ["-n", "2"])
