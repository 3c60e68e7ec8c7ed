"""Ladder level 6 fixtures, end to end through pytester, with and without xdist."""

from __future__ import annotations

import pytest

XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]

TESTS = """
import pytest
from pytest_opsladder import Case, Run, Variant, tool
from pytest_opsladder.capture.boundary import ToolBoundary
from pytest_opsladder.capture.run import activate
from pytest_opsladder.blast_radius.errors import CircuitOpenError, PausedError, RateLimitedError


def test_breaker_on_the_manual_clock(opsladder_breaker, opsladder_blast_clock):
    breaker = opsladder_breaker("api", fail_max=1, reset_timeout=10)
    with pytest.raises(ZeroDivisionError):
        breaker.call(lambda: 1 / 0)
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: 1)
    opsladder_blast_clock.advance(10)
    assert breaker.call(lambda: 1) == 1


def test_limiter_on_the_manual_clock(opsladder_rate_limiter, opsladder_blast_clock):
    limiter = opsladder_rate_limiter("1/minute")
    limiter.acquire("k")
    with pytest.raises(RateLimitedError):
        limiter.acquire("k")
    opsladder_blast_clock.advance(60)
    limiter.acquire("k")


def test_pause_guards_outbound_tools(opsladder_blast_radius, opsladder_pause):
    @tool(outbound=True)
    def post(text):
        return "posted"

    run = Run(Case("c"), Variant("v"))
    run.boundary = ToolBoundary()
    with activate(run):
        assert post("a") == "posted"
        opsladder_pause.pause("test")
        with pytest.raises(PausedError):
            post("b")
    assert [e.kind for e in run.events if e.kind == "pause_blocked"] == ["pause_blocked"]


def test_isolated_pause(opsladder_pause, tmp_path):
    assert not opsladder_pause.is_paused()
    assert opsladder_pause.path.parent == tmp_path
"""


@pytest.mark.parametrize("args", XDIST)
def test_blast_radius_fixtures(pytester: pytest.Pytester, args: list[str]) -> None:
    pytester.makepyfile(test_l6=TESTS)
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_fixtures_are_listed_with_their_docs(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*opsladder_blast_clock*",
            "*A manual monotonic clock*",
            "*opsladder_pause*",
            "*opsladder_breaker*",
            "*opsladder_rate_limiter*",
            "*opsladder_blast_radius*",
        ]
    )
