"""Nightmare cases collected as pytest items: -k, --opsladder-tag, record then replay."""

from __future__ import annotations

import pytest
from nightmare_helpers import case_yaml, write_case

XDIST = [[], ["-n", "2"]]


def _three_cases(project: pytest.Pytester) -> None:
    write_case(project, "a.yaml", case_yaml("refund-a", "a", ("billing",)))
    write_case(project, "b.yaml", case_yaml("refund-b", "b", ("billing", "urgent")))
    write_case(project, "c.yaml", case_yaml("search-c", "c", ("search",)))


def test_cases_collect_as_items_named_by_id(project: pytest.Pytester) -> None:
    _three_cases(project)
    result = project.runpytest("--collect-only", "-q", "nightmare_set", "-p", "no:randomly")
    result.stdout.fnmatch_lines(  # in file order: pytest-randomly, if installed, is off here
        ["nightmare_set/a.yaml::refund-a", "nightmare_set/b.yaml::refund-b", "*3 tests collected*"]
    )


@pytest.mark.parametrize("xdist", XDIST)
def test_record_then_replay_runs_the_checks(project: pytest.Pytester, xdist: list[str]) -> None:
    _three_cases(project)
    project.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=3)
    assert (project.path / "nightmare_set/cassettes/refund-a/prod.json").is_file()
    project.runpytest("nightmare_set", *xdist).assert_outcomes(passed=3)


@pytest.mark.parametrize("xdist", XDIST)
def test_k_selects_by_tag(project: pytest.Pytester, xdist: list[str]) -> None:
    _three_cases(project)
    project.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=3)
    result = project.runpytest("nightmare_set", "-k", "urgent", "-v", *xdist)
    result.assert_outcomes(passed=1, deselected=0 if xdist else 2)  # workers deselect under xdist
    result.stdout.fnmatch_lines(["*PASSED*refund-b*"] if xdist else ["*refund-b*PASSED*"])


@pytest.mark.parametrize("xdist", XDIST)
def test_tag_option_keeps_only_tagged_cases(project: pytest.Pytester, xdist: list[str]) -> None:
    _three_cases(project)
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    project.runpytest("nightmare_set", "--opsladder-mode=record").assert_outcomes(passed=3)
    result = project.runpytest("--opsladder-tag", "billing", "-v", *xdist)
    result.assert_outcomes(passed=2, deselected=0 if xdist else 2)
    result.stdout.no_fnmatch_line("*search-c*")


def test_tag_option_accepts_several_tags(project: pytest.Pytester) -> None:
    _three_cases(project)
    result = project.runpytest(
        "nightmare_set",
        "--collect-only",
        "-q",
        "--opsladder-tag",
        "urgent",
        "--opsladder-tag",
        "search",
        "-p",
        "no:randomly",  # the lines below are in file order
    )
    result.stdout.fnmatch_lines(
        ["*::refund-b", "*::search-c", "*2/3 tests collected (1 deselected)*"]
    )


def test_tag_option_in_help(project: pytest.Pytester) -> None:
    project.runpytest("--help").stdout.fnmatch_lines(["*--opsladder-tag=TAG*"])


@pytest.mark.parametrize("xdist", XDIST)
def test_replay_without_cassette_says_how_to_record(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    write_case(project, "fresh.yaml", case_yaml("fresh-case"))
    result = project.runpytest("nightmare_set", *xdist)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*nightmare case 'fresh-case' (nightmare_set/fresh.yaml) has no baseline cassette "
            "for variant 'prod': expected nightmare_set/cassettes/fresh-case/prod.json*",
            "*pytest nightmare_set/fresh.yaml --opsladder-mode=record*",
        ]
    )
    project.runpytest("nightmare_set/fresh.yaml", "--opsladder-mode=record").assert_outcomes(
        passed=1
    )
    project.runpytest("nightmare_set", *xdist).assert_outcomes(passed=1)


def test_failing_check_names_the_check(project: pytest.Pytester) -> None:
    write_case(
        project,
        "strict.yaml",
        case_yaml("strict-case").replace("value: refund", "value: apology"),
    )
    result = project.runpytest("nightmare_set", "--opsladder-mode=record")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*case 'strict-case': 1 check(s) failed*", "*'apology' not found*"]
    )


def test_retired_history_and_cassette_folders_are_not_collected(project: pytest.Pytester) -> None:
    _three_cases(project)
    for folder in ("retired", "history", "cassettes"):
        (project.path / "nightmare_set" / folder).mkdir(exist_ok=True)
        write_case(project, f"{folder}/old.yaml", case_yaml(f"old-{folder}"))
    result = project.runpytest("nightmare_set", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*3 tests collected*"])


def test_file_and_node_id_arguments_select_one_case(project: pytest.Pytester) -> None:
    _three_cases(project)
    by_file = project.runpytest("nightmare_set/b.yaml", "--collect-only", "-q")
    by_file.stdout.fnmatch_lines(["nightmare_set/b.yaml::refund-b", "*1 test collected*"])
    by_id = project.runpytest("nightmare_set/c.yaml::search-c", "--collect-only", "-q")
    by_id.stdout.fnmatch_lines(["nightmare_set/c.yaml::search-c", "*1 test collected*"])


def test_other_files_and_subfolders_in_the_set_still_collect(project: pytest.Pytester) -> None:
    _three_cases(project)
    (project.path / "nightmare_set/billing").mkdir()
    write_case(project, "billing/d.yaml", case_yaml("nested-d", "d"))
    (project.path / "nightmare_set/test_helper.py").write_text("def test_h():\n    pass\n")
    result = project.runpytest("nightmare_set", "--collect-only", "-q")
    result.stdout.fnmatch_lines_random(  # any order: pytest-randomly shuffles the inner run
        [
            "nightmare_set/billing/d.yaml::nested-d",
            "nightmare_set/test_helper.py::test_h",
            "*5 tests collected*",
        ]
    )
    ignored = project.runpytest(
        "nightmare_set", "--collect-only", "-q", "--ignore=nightmare_set/a.yaml"
    )
    ignored.stdout.fnmatch_lines(["*4 tests collected*"])
