"""Case files collected by the nightmare dir itself, and what still goes through pytest's round.

NightmareDir returns the items of its case files in its own report (no per-file collectstart,
collect report or collectreport). Whatever could tell the difference gets pytest's round as
before: a failing file, --lf's memory of one, -x, --keep-duplicates, an argument inside the
set, a plugin with its own per-file collection hooks.
"""

from __future__ import annotations

import json

import pytest
from nightmare_helpers import case_yaml, write_case


def _cases(project: pytest.Pytester, *names: str) -> None:
    for name in names:
        write_case(project, f"{name}.yaml", case_yaml(f"case-{name}", name))


BROKEN = "id: case-b\ninput: {q: 1\n"


def _file_reports(reprec: pytest.HookRecorder) -> list[str]:
    return [r.nodeid for r in reprec.getreports("pytest_collectreport") if ".yaml" in r.nodeid]


def test_case_files_are_collected_in_the_directory_report(project: pytest.Pytester) -> None:
    _cases(project, "a", "b", "c")
    reprec = project.inline_run("nightmare_set", "--collect-only", "-p", "no:randomly")
    assert _file_reports(reprec) == []  # no round per file
    (directory,) = [
        r for r in reprec.getreports("pytest_collectreport") if r.nodeid == "nightmare_set"
    ]
    assert [item.nodeid for item in directory.result] == [
        "nightmare_set/a.yaml::case-a",
        "nightmare_set/b.yaml::case-b",
        "nightmare_set/c.yaml::case-c",
    ]
    assert [item.parent.name for item in directory.result] == ["a.yaml", "b.yaml", "c.yaml"]


def test_from_a_failing_file_on_each_file_has_its_round(project: pytest.Pytester) -> None:
    _cases(project, "a", "c")
    write_case(project, "b.yaml", BROKEN)
    reprec = project.inline_run("nightmare_set", "--collect-only", "-p", "no:randomly")
    assert _file_reports(reprec) == ["nightmare_set/b.yaml", "nightmare_set/c.yaml"]
    failed = [r for r in reprec.getreports("pytest_collectreport") if r.failed]
    assert [r.nodeid for r in failed] == ["nightmare_set/b.yaml"]
    assert "b.yaml:3: not valid YAML" in str(failed[0].longrepr)


def test_exitfirst_stops_where_it_always_did(project: pytest.Pytester) -> None:
    _cases(project, "a", "c", "d")
    write_case(project, "b.yaml", BROKEN)
    result = project.runpytest("nightmare_set", "--collect-only", "-x", "-p", "no:randomly")
    result.stdout.fnmatch_lines(["collected 1 item / 1 error", "*1 test collected, 1 error*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_file_that_failed_to_collect_leaves_last_failed_once_fixed(
    project: pytest.Pytester,
) -> None:
    _cases(project, "a", "c")
    write_case(project, "b.yaml", BROKEN)
    project.runpytest("nightmare_set", "--opsladder-mode=record")
    lastfailed = project.path / ".pytest_cache/v/cache/lastfailed"
    assert json.loads(lastfailed.read_text()) == {"nightmare_set/b.yaml": True}
    write_case(project, "b.yaml", case_yaml("case-b", "b"))
    project.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=3)
    assert not lastfailed.exists() or json.loads(lastfailed.read_text()) == {}


def test_a_plugin_with_per_file_hooks_sees_every_file(project: pytest.Pytester) -> None:
    _cases(project, "a", "b")
    project.makepyfile(
        seen="def pytest_collectreport(report):\n    print('REPORT', report.nodeid)\n"
    )
    project.syspathinsert()
    result = project.runpytest(
        "nightmare_set", "--collect-only", "-q", "-s", "-p", "seen", "-p", "no:randomly"
    )
    result.stdout.fnmatch_lines(["REPORT nightmare_set/a.yaml", "REPORT nightmare_set/b.yaml"])


def test_keep_duplicates_collects_a_repeated_set_twice(project: pytest.Pytester) -> None:
    _cases(project, "a", "b")
    result = project.runpytest(
        "nightmare_set", "nightmare_set", "--collect-only", "-q", "--keep-duplicates"
    )
    result.stdout.fnmatch_lines(["*4 tests collected*"])
