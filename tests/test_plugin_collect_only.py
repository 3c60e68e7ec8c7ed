"""``pytest --collect-only`` lists the tests and nothing else of ours: no run summary, no
verdict, whatever the mode, serially and under xdist; ``--setup-only`` and ``--setup-plan``,
which run no test body either, give no verdict.

Before, ``pytest --co -q --opsladder-shadow`` ended with an 'opsladder (shadow)' section and
'opsladder runs: 0 recorded, 0 replayed, 0 incomplete' after the listing, for a session that
ran nothing.
"""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from pytest_opsladder import Variant

def pytest_opsladder_variants():
    return [Variant("prod"), Variant("next", params={"n": 1})]
"""

TESTS = """
import pytest

@pytest.mark.opsladder
@pytest.mark.parametrize("i", range(3))
def test_case(opsladder_run, i):
    opsladder_run.output = {"i": i}
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("mode", ["--opsladder-shadow", "--opsladder-mode=record", None])
def test_collect_only_prints_no_summary_and_no_verdict(
    pytester: pytest.Pytester, mode: str | None, xdist: list[str]
) -> None:
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=3)
    args = ["--co", "-q", *([mode] if mode else []), *xdist]
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.OK
    ours = [line for line in result.outlines if "opsladder" in line and "::" not in line]
    assert len(ours) <= 1, ours
    for text in ("verdict", "drift gate", "opsladder runs", "no paired cases"):
        result.stdout.no_fnmatch_line(f"*{text}*")
    result.stdout.fnmatch_lines(["test_agent.py::test_case[[]0]", "3 tests collected*"])


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize("flag", ["--setup-only", "--setup-plan"])
def test_setup_only_and_setup_plan_give_no_verdict_and_keep_the_reports(
    pytester: pytest.Pytester, flag: str, xdist: list[str]
) -> None:
    """Before: --setup-only ran no test body, yet every candidate run was scored: 'drift gate
    FAIL ... regressed cases (3; passed on the baseline, failed now)' and the reports replaced;
    --setup-plan said 'Record a baseline first' of recorded cases."""
    pytester.makeini(
        "[pytest]\nopsladder_baseline = prod\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_agent=TESTS)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=3)
    pytester.runpytest("--opsladder-shadow")
    reports = pytester.path / "reports"
    before = {p.name: p.read_bytes() for p in reports.iterdir()}
    result = pytester.runpytest("--opsladder-shadow", flag, *xdist)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"no verdict: {flag} runs no test*left as they were*"])
    for text in ("drift gate", "regressed", "Record a baseline", "opsladder runs"):
        result.stdout.no_fnmatch_line(f"*{text}*")
    assert {p.name: p.read_bytes() for p in reports.iterdir()} == before
