"""Nightmare case items see fixtures of every scope, autouse or not, as any test does."""

from __future__ import annotations

import textwrap

import pytest
from nightmare_helpers import AGENT_CONFTEST, case_yaml, write_case

SCOPED_FIXTURES = textwrap.dedent(
    """
    import pytest

    SEEN = []

    @pytest.fixture(scope="module", autouse=True)
    def module_auto():
        SEEN.append("module")
        yield
        SEEN.append("module-end")

    @pytest.fixture(scope="class", autouse=True)
    def class_auto():
        SEEN.append("class")

    @pytest.fixture(scope="package", autouse=True)
    def package_auto():
        SEEN.append("package")

    @pytest.fixture(scope="session", autouse=True)
    def session_auto():
        SEEN.append("session")

    @pytest.fixture(scope="module")
    def module_value():
        return "m"

    @pytest.fixture(autouse=True)
    def check_scopes(request, module_value):
        assert module_value == "m"
        if request.node.name.startswith("case-"):
            assert {"module", "class", "package", "session"} <= set(SEEN)
    """
)


@pytest.fixture
def scoped(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nopsladder_baseline = prod\n")
    pytester.makeconftest(AGENT_CONFTEST + SCOPED_FIXTURES)
    pytester.mkdir("nightmare_set")
    write_case(pytester, "a.yaml", case_yaml("case-a", "a"))
    write_case(pytester, "b.yaml", case_yaml("case-b", "b"))
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    return pytester


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_scoped_autouse_fixtures_resolve_for_cases(
    scoped: pytest.Pytester, xdist: list[str]
) -> None:
    scoped.runpytest("--opsladder-mode=record", *xdist).assert_outcomes(passed=3)
    scoped.runpytest(*xdist).assert_outcomes(passed=3)


def test_module_scoped_fixture_is_torn_down_per_case_file(scoped: pytest.Pytester) -> None:
    scoped.makeconftest(
        AGENT_CONFTEST
        + SCOPED_FIXTURES
        + textwrap.dedent(
            """
            def pytest_sessionfinish(session):
                print("SEEN", SEEN.count("module"), SEEN.count("module-end"))
            """
        )
    )
    result = scoped.runpytest("--opsladder-mode=record", "-s", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*SEEN 3 3*"])  # two case files and one test module
