"""The plugin in other people's suites: switched off, next to pytest-recording, with hints that
work, an old cassette layout, and a bad report directory found before anything runs."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

AGENT_TESTS = textwrap.dedent(
    """
    import pytest
    from pytest_opsladder import tool

    @tool
    def lookup(q):
        return {"found": q}

    @pytest.mark.opsladder
    def test_one(opsladder_run):
        opsladder_run.output = lookup("one")

    @pytest.mark.opsladder
    @pytest.mark.parametrize("q", ["a b", "c"])
    def test_two(opsladder_run, q):
        opsladder_run.output = lookup(q)

    def test_plain():
        assert 1 + 1 == 2
    """
)

OPTIONAL_HOOKS_CONFTEST = textwrap.dedent(
    """
    import pytest
    from pytest_opsladder import Variant

    @pytest.hookimpl(optionalhook=True)
    def pytest_opsladder_variants():
        return [Variant("baseline", model="m1")]

    @pytest.hookimpl(optionalhook=True)
    def pytest_opsladder_run_metrics(run):
        return {"answer_len": 1}
    """
)


def test_plugin_switched_off_with_optional_hooks_in_conftest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPTIONAL_HOOKS_CONFTEST)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:opsladder")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    assert pytester.runpytest().ret == 0  # and the same conftest with the plugin on


def test_plugin_switched_off_in_the_shipped_demo_conftest(pytester: pytest.Pytester) -> None:
    root = Path(__file__).parents[1]
    pytester.makeconftest((root / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.runpytest("-p", "no:opsladder").assert_outcomes(passed=1)


def test_missing_cassette_hint_records_exactly_that_test_and_shows_once(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_agent=AGENT_TESTS)
    result = pytester.runpytest("test_agent.py::test_two")
    result.assert_outcomes(errors=2)
    text = result.stdout.str()
    assert text.count("(test test_agent.py::test_two[a b])") == 1
    hints = [ln.split("Record it with: ", 1)[1] for ln in result.stdout.lines if "with: " in ln]
    command = shlex.split(next(h for h in hints if "a b" in h))
    assert command[0] == "pytest"
    assert "test_agent.py::test_two[a b]" in command  # a node id, not -k
    assert "-k" not in command
    recorded = pytester.runpytest(*command[1:])
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["*1 recorded, 0 replayed*"])
    replay = pytester.runpytest("test_agent.py::test_two")
    replay.assert_outcomes(passed=1, errors=1)  # only the other parameter still lacks one


def test_cassettes_default_apart_from_pytest_recording_and_old_ones_still_read(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_agent=AGENT_TESTS)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=4)
    home = pytester.path / "cassettes" / "opsladder" / "test_agent"
    assert (home / "test_one" / "baseline.json").is_file()
    old = pytester.path / "cassettes" / "test_agent"
    old.parent.mkdir(exist_ok=True)
    home.rename(old)  # a project recorded before the move
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*0 recorded, 3 replayed*"])
    assert not home.exists()


VCR_AND_OPSLADDER = textwrap.dedent(
    """
    import pytest

    @pytest.mark.vcr
    @pytest.mark.opsladder
    def test_both(opsladder_run):
        pass

    @pytest.mark.vcr
    def test_vcr_only():
        pass
    """
)


def test_vcr_and_opsladder_markers_together_fail_at_collection(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    vcr: pytest-recording\n")
    pytester.makepyfile(test_both=VCR_AND_OPSLADDER)
    result = pytester.runpytest("-p", "no:recording")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*test_both.py::test_both: marked both *vcr*Drop @pytest.mark.vcr*"]
    )
    result.stdout.no_fnmatch_line("*test_vcr_only*")


def test_cassette_validate_skips_pytest_recording_files(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_agent=AGENT_TESTS)
    pytester.runpytest("--opsladder-mode=record").assert_outcomes(passed=4)
    vcr_file = pytester.path / "cassettes" / "test_agent" / "test_plain.yaml"
    vcr_file.parent.mkdir(parents=True)
    vcr_file.write_text("interactions:\n- request: {method: GET, uri: 'http://x/'}\nversion: 1\n")
    broken = pytester.path / "cassettes" / "opsladder" / "test_agent" / "test_one" / "x.json"
    broken.write_text('{"format": "pytest-opsladder/cassette", "run": ')
    done = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "cassette", "validate", "cassettes"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1  # the broken one of ours still fails
    assert f"SKIP {Path('cassettes/test_agent/test_plain.yaml')}" in done.stdout
    assert "3 valid, 1 invalid" in done.stdout


def test_unwritable_report_dir_is_a_usage_error_before_any_case_runs(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(OPTIONAL_HOOKS_CONFTEST.replace('"m1")]', '"m1"), Variant("next")]'))
    pytester.makepyfile(test_agent=AGENT_TESTS.replace("def test_one", "def test_one_x"))
    (pytester.path / "blocker").write_text("a file where the report directory should go")
    result = pytester.runpytest("--opsladder-shadow", "--opsladder-report-dir=blocker/reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*report directory '*/blocker/reports' is not writable*blocker is a file*"]
    )
    assert "PASSED" not in result.stdout.str()
    assert "test_one_x" not in result.stdout.str()
