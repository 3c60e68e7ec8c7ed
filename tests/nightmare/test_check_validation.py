"""Checks that cannot work fail the case file when it is loaded, not every run of the case.

`exact` without `value` compared the output with null, an invalid JSON Schema raised at run
time, a typo'd argument was ignored, and a `python:` check naming a module or function that
does not exist failed only when the case ran. Each is now an error naming the file, the line,
the check and the fix: at collection (pytest) and when a case is added (`opsladder`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from nightmare_helpers import case_yaml, write_case

from pytest_opsladder.cli import main
from pytest_opsladder.nightmare.case import CaseFormatError, load_case

XDIST = [[], ["-n", "2"]]


def _case(check: str) -> str:
    return f"id: a\ninput: {{q: 1}}\nchecks:\n  - contains: refund\n  - {check}\n"


def _error(tmp_path: Path, check: str) -> CaseFormatError:
    path = tmp_path / "bad.yaml"
    path.write_text(_case(check), encoding="utf-8")
    with pytest.raises(CaseFormatError) as info:
        load_case(path)
    return info.value


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("exact: {path: title}", "checks[1]: exact needs `value`, e.g. `exact: {path: title, "),
        ("contains: {path: reply}", "checks[1]: contains needs `value`"),
        ("not_contains: {path: reply}", "checks[1]: not_contains needs `value`"),
        ("regex: {path: title}", "checks[1]: regex needs `pattern` or `value`"),
        ("json_schema: {}", "checks[1]: json_schema needs `schema` or `value`"),
        ("tool_trajectory: {mode: strict}", "checks[1]: tool_trajectory needs `calls`"),
        ("python: {}", "checks[1]: python needs `function` or `value`"),
    ],
)
def test_a_check_without_its_required_argument_is_refused(
    tmp_path: Path, check: str, message: str
) -> None:
    err = _error(tmp_path, check)
    assert message in str(err)
    assert err.line == 5
    assert str(err).startswith(f"{tmp_path / 'bad.yaml'}:5: ")


def test_a_typo_in_an_argument_is_refused_not_ignored(tmp_path: Path) -> None:
    err = _error(tmp_path, "contains: {pth: reply, value: refund}")
    assert "contains has no argument 'pth'; its arguments are path, value" in str(err)
    assert err.line == 5


def test_null_is_a_value_exact_can_compare_with(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(_case("exact: {path: error, value: null}"), encoding="utf-8")
    assert load_case(path).checks[1].args == {"path": "error", "value": None}


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ("{type: objekt}", "$['type']"),
        ("{type: object, required: title}", "$['required']"),
        ("{properties: {title: {minLength: -1}}}", "$['properties']['title']['minLength']"),
        ("[not, a, schema]", "$"),
    ],
)
def test_an_invalid_json_schema_is_refused_on_load(tmp_path: Path, schema: str, where: str) -> None:
    err = _error(tmp_path, f"json_schema: {{schema: {schema}}}")
    assert f"json_schema: the schema is not valid JSON Schema (2020-12) at {where}: " in str(err)
    assert "Fix the schema" in str(err)
    assert err.line == 5


@pytest.mark.parametrize("target", ["json", "json:", ":loads", "json:loads.x", "json loads"])
def test_a_python_target_not_of_the_form_module_function_is_refused(
    tmp_path: Path, target: str
) -> None:
    err = _error(tmp_path, f"python: {target!r}")
    assert f"python check {target!r}: name a function as 'package.module:function'" in str(err)


USER_CHECKS = textwrap.dedent(
    """
    def says_refund(output, run):
        return "refund" in output["answer"] or "no refund in the answer"

    NOT_A_FUNCTION = 3
    """
)


@pytest.mark.parametrize("xdist", XDIST)
def test_a_python_check_of_the_project_resolves_at_collection(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    project.makepyfile(user_checks=USER_CHECKS)
    text = case_yaml("ok").replace("checks:\n", "checks:\n  - python: 'user_checks:says_refund'\n")
    write_case(project, "ok.yaml", text)
    result = project.runpytest("nightmare_set", "--opsladder-mode=record", *xdist)
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("xdist", XDIST)
@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "no_such_module:check",
            "python check 'no_such_module:check': module 'no_such_module' cannot be imported "
            "(ModuleNotFoundError: No module named 'no_such_module'). Fix the module name, or "
            "make it importable from the test run*",
        ),
        (
            "user_checks:says_refnud",
            "python check 'user_checks:says_refnud': module 'user_checks' (*user_checks.py) does "
            "not define 'says_refnud'. Name a function of it: 'package.module:function'.",
        ),
        (
            "user_checks:NOT_A_FUNCTION",
            "python check 'user_checks:NOT_A_FUNCTION': module 'user_checks' (*) has a "
            "non-callable 'NOT_A_FUNCTION'.*",
        ),
    ],
)
def test_an_unknown_python_target_is_a_collection_error(
    project: pytest.Pytester, xdist: list[str], target: str, message: str
) -> None:
    project.makepyfile(user_checks=USER_CHECKS)
    text = case_yaml("bad").replace("checks:\n", f"checks:\n  - python: '{target}'\n")
    write_case(project, "bad.yaml", text)
    write_case(project, "good.yaml", case_yaml("good"))
    result = project.runpytest("nightmare_set", "--opsladder-mode=record", *xdist)
    result.stdout.fnmatch_lines([f"*bad.yaml:4: checks[[]0[]]: {message}"])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.assert_outcomes(passed=1 if xdist else 0, errors=1)  # serial: stops at the error


@pytest.mark.parametrize("xdist", XDIST)
def test_an_invalid_check_is_a_collection_error_naming_file_and_line(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    write_case(project, "bad.yaml", _case("json_schema: {schema: {type: objekt}}"))
    result = project.runpytest("nightmare_set", "--collect-only", "-q", *xdist)
    result.stdout.fnmatch_lines(
        ["*bad.yaml:5: checks[[]1[]]: json_schema: the schema is not valid JSON Schema*"]
    )
    assert result.ret == 2


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("exact: {path: title}", "checks[0]: exact needs `value`"),
        ("json_schema: {schema: {type: objekt}}", "json_schema: the schema is not valid"),
        ("python: json", "python check 'json': name a function as 'package.module:function'"),
    ],
)
def test_the_curation_cli_refuses_a_broken_check_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], check: str, message: str
) -> None:
    root = tmp_path / "nm"
    args = ["nightmare", "--dir", str(root), "add", "--id", "x", "--input", "1"]
    assert main([*args, "--check", check]) == 2
    assert message in capsys.readouterr().err
    assert not list(root.glob("*.yaml"))
