"""Bad case files: every error names the file and the line, and says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from nightmare_helpers import case_yaml, write_case

from pytest_opsladder.nightmare.case import CaseFormatError, load_case


def _load(tmp_path: Path, text: str) -> NightmareCaseError:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFormatError) as info:
        load_case(path)
    return info.value


NightmareCaseError = CaseFormatError


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    err = _load(tmp_path, "id: a\ninput: {q: 1}\nchecks:\n  - contains: [unclosed\ntags: [x]\n")
    assert err.path == tmp_path / "bad.yaml"
    assert err.line is not None
    assert 4 <= err.line <= 5
    assert str(err).startswith(f"{tmp_path / 'bad.yaml'}:{err.line}: not valid YAML")


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    err = _load(tmp_path, "id: a\ninput: 1\nchecks: []\nseverty: high\n")
    assert err.line == 4
    assert "unknown key 'severty'" in str(err)


def test_unknown_check_lists_the_valid_ones(tmp_path: Path) -> None:
    err = _load(tmp_path, "id: a\ninput: 1\nchecks:\n  - containz: refund\n")
    assert err.line == 4
    assert "unknown check 'containz'; valid checks are contains, exact" in str(err)


def test_bad_severity_lists_the_valid_ones(tmp_path: Path) -> None:
    err = _load(tmp_path, "id: a\ninput: 1\nseverity: urgent\n")
    assert (
        "'urgent' is not a valid severity. Valid values are: low, medium, high, critical."
        in str(err)
    )
    assert err.line == 3


def test_bad_trajectory_mode_is_refused(tmp_path: Path) -> None:
    err = _load(
        tmp_path, "id: a\ninput: 1\nchecks:\n  - tool_trajectory: {mode: loose, calls: []}\n"
    )
    assert (
        "'loose' is not a valid tool_trajectory mode. "
        "Valid values are: strict, unordered, subset, superset." in str(err)
    )


def test_missing_input_is_refused(tmp_path: Path) -> None:
    assert "missing required key 'input'" in str(_load(tmp_path, "id: a\n"))


def test_malformed_file_is_a_collection_error_naming_file_and_line(
    project: pytest.Pytester,
) -> None:
    write_case(project, "good.yaml", case_yaml("good"))
    write_case(project, "broken.yaml", "id: broken\ninput: {q: 1\nchecks: []\n")
    result = project.runpytest("nightmare_set", "--collect-only")
    result.stdout.fnmatch_lines(["*nightmare_set/broken.yaml:*: not valid YAML*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_duplicate_ids_are_a_collection_error(project: pytest.Pytester, xdist: list[str]) -> None:
    write_case(project, "one.yaml", case_yaml("same-id", "1"))
    write_case(project, "two.yaml", case_yaml("same-id", "2"))
    result = project.runpytest("nightmare_set", *xdist)
    result.stdout.fnmatch_lines(
        ["*duplicate case id 'same-id'*already uses it*rename one of them*"]
    )
    assert result.ret != 0


def test_provenance_must_be_a_mapping_with_an_iso_date(tmp_path: Path) -> None:
    err = _load(tmp_path, "id: a\ninput: 1\nprovenance: from prod\n")
    assert "`provenance` must be a mapping" in str(err)
    assert err.line == 3
    err = _load(tmp_path, "id: a\ninput: 1\nprovenance:\n  source_run: r1\n  date: last tuesday\n")
    assert "provenance date 'last tuesday' is not an ISO date" in str(err)
    assert err.line == 5


def test_a_full_case_loads(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    path.write_text(
        "id: refund-double-charge\ninput: {message: charged twice}\n"
        "checks:\n  - tool_trajectory: {mode: subset, calls: [search_orders, refund]}\n"
        "  - json_schema: {schema: {type: object}}\n  - python: 'json:loads'\n"
        "tags: [billing]\nseverity: critical\ndescription: why\n"
        "provenance: {source_run: 1f2e, date: 2026-11-02, reason: double refund}\n",
        encoding="utf-8",
    )
    case = load_case(path)
    assert [c.kind for c in case.checks] == ["tool_trajectory", "json_schema", "python"]
    assert case.provenance["reason"] == "double refund"
    assert case.severity.value == "critical"
