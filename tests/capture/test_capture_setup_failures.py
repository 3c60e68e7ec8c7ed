"""A test whose own fixture fails in setup reports that failure, as pytest does without the
plugin, even when the test has no cassette to replay.

Before, the run's fixture stopped the setup first (marked tests open their run from an autouse
fixture, before the test's own fixtures), so a database that was down, a fixture that skipped,
even a misspelled fixture name, were all reported as 'no cassette ... Record it with: pytest
--opsladder-mode=record ...': a command that cannot help.
"""

from __future__ import annotations

import pytest

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])

CONFTEST = """
import os
import pytest
from pytest_opsladder import tool

@tool
def lookup(q):
    return {"found": q}

@pytest.fixture
def database():
    raise RuntimeError("database is down")

@pytest.fixture
def gpu():
    pytest.skip("no GPU on this machine")

@pytest.fixture
def scratch():
    yield
    with open(os.environ["TEARDOWN_LOG"], "a") as fh:
        fh.write("scratch torn down\\n")

@pytest.fixture
def answer(opsladder_run):
    return 42

@pytest.fixture
def opsladder_agent(database):
    def agent(case_input):
        return {"answer": lookup(case_input["q"])}
    return agent
"""

TESTS = """
import pytest

@pytest.mark.opsladder
def test_marked(database):
    pass

def test_run_first(opsladder_run, database):
    pass

@pytest.mark.opsladder
@pytest.mark.parametrize("i", [1, 2])
def test_parametrized(database, i):
    assert i

def test_needs_the_run_then_database(answer, database):
    pass

class TestInAClass:
    @pytest.mark.opsladder
    def test_method(self, database):
        pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST)
    monkeypatch.setenv("TEARDOWN_LOG", str(pytester.path / "teardown.log"))
    return pytester


@XDIST
def test_a_failing_fixture_is_the_error_not_the_missing_cassette(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    project.makepyfile(test_agent=TESTS)
    result = project.runpytest("-p", "no:randomly", *xdist)
    result.assert_outcomes(errors=6)
    out = result.stdout.str()
    assert out.count("RuntimeError: database is down") >= 6
    assert "no cassette" not in out
    assert "--opsladder-mode=record" not in out
    assert "pytest_opsladder" not in out  # the plugin's frames are not in the user's traceback


def test_a_nightmare_case_whose_agent_fixture_fails_shows_that_failure(
    project: pytest.Pytester,
) -> None:
    project.mkdir("nightmare_set")
    (project.path / "nightmare_set" / "refund.yaml").write_text(
        "id: refund\ninput: {q: x}\nchecks:\n  - contains: {path: answer, value: x}\n"
    )
    result = project.runpytest("nightmare_set")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: database is down*"])
    result.stdout.no_fnmatch_line("*no cassette*")


def test_a_fixture_that_skips_skips_the_test_and_a_misspelled_one_is_named(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_agent="""
        import pytest

        @pytest.mark.opsladder
        def test_needs_gpu(gpu):
            pass

        @pytest.mark.opsladder
        def test_typo(databse):
            pass
        """
    )
    result = project.runpytest("-rs", "-p", "no:randomly")
    result.assert_outcomes(skipped=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of test_typo*", "*def test_typo(databse):",
         "E       fixture 'databse' not found", "*SKIPPED*no GPU on this machine*"]
    )  # fmt: skip
    result.stdout.no_fnmatch_line("*no cassette*")
    result.stdout.no_fnmatch_line("*def _opsladder_marked*")  # as pytest shows it: the test's


def test_with_no_other_failure_the_missing_cassette_is_the_error_and_fixtures_tear_down(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_agent="""
        import pytest

        @pytest.mark.opsladder
        def test_marked(scratch):
            pass

        def test_needs_the_run(answer, scratch):
            pass
        """
    )
    result = project.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        ["*no cassette for case*Record it with: pytest --opsladder-mode=record*"]
    )
    # the fixtures set up after the run's failure were torn down like any other
    assert (project.path / "teardown.log").read_text().count("scratch torn down") == 2
