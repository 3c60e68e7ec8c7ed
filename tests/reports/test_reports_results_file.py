"""Loading a results JSON: the contract of docs/results-schema.md, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.reports.errors import ResultsFileError, ResultsSchemaError
from pytest_opsladder.reports.results_file import check_results, load_results
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.verdicts import CaseVerdict


def _write(tmp_path: Path, value: Any) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_a_sample_round_trips_through_a_file(tmp_path: Path) -> None:
    res = sample_results(12, seed=5)
    assert load_results(_write(tmp_path, res)) == res


def test_the_sample_is_seeded() -> None:
    assert sample_results(8, seed=1) == sample_results(8, seed=1)
    assert sample_results(8, seed=1) != sample_results(8, seed=2)


def test_unknown_schema_version_names_the_file_and_both_versions(tmp_path: Path) -> None:
    res = {**sample_results(3), "schema_version": 99}
    path = _write(tmp_path, res)
    with pytest.raises(ResultsSchemaError) as info:
        load_results(path)
    message = str(info.value)
    assert str(path) in message
    assert "schema_version 99" in message
    assert "schema version(s) 1" in message
    assert info.value.found == 99
    assert info.value.supported == (1,)


@pytest.mark.parametrize("version", [None, "1", True, 0])
def test_a_missing_or_mistyped_schema_version_is_refused(tmp_path: Path, version: Any) -> None:
    res = {**sample_results(2), "schema_version": version}
    with pytest.raises(ResultsSchemaError, match="schema_version"):
        load_results(_write(tmp_path, res))


def test_a_foreign_json_is_refused_by_its_format(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="not a pytest-opsladder results file"):
        load_results(_write(tmp_path, {"format": "junit", "schema_version": 1}))


def test_truncated_json_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('{"format": "pytest-opsladder/results",\n "schema_version": 1,\n', "utf-8")
    with pytest.raises(ResultsFileError, match=r"not valid JSON \(line 3") as info:
        load_results(path)
    assert info.value.path == path


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="cannot read results file"):
        load_results(tmp_path / "nope.json")


def test_an_unknown_case_verdict_lists_the_valid_ones(tmp_path: Path) -> None:
    res = sample_results(3)
    res["cases"][1]["verdict"] = "worse"
    with pytest.raises(ResultsFileError) as info:
        load_results(_write(tmp_path, res))
    assert "'worse' is not a valid cases[1].verdict" in str(info.value)
    assert all(v.value in str(info.value) for v in CaseVerdict)


def test_a_required_key_of_the_wrong_type_is_named() -> None:
    res = {**sample_results(2), "metrics": {"pass_rate": 1}}
    with pytest.raises(ResultsFileError, match="key 'metrics' is"):
        check_results(res)


def test_optional_keys_may_be_absent() -> None:
    minimal = {
        "format": "pytest-opsladder/results",
        "schema_version": 1,
        "alpha": 0.01,
        "verdict": "pass",
        "metrics": [],
        "cases": [],
    }
    assert check_results(minimal) is minimal
