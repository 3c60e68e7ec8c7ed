"""Verdict history across results files, and flaky detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_opsladder.cli import main
from pytest_opsladder.nightmare.history import case_histories, record_results


def _results(path: Path, created: str, passes: dict[str, list[bool]]) -> Path:
    cases = [
        {
            "case_id": cid,
            "verdict": "unchanged",
            "baseline": {"runs": []},
            "candidate": {
                "runs": [
                    {"run_id": f"{cid}-{i}", "epoch": i, "passed": p, "status": "complete"}
                    for i, p in enumerate(ps)
                ]
            },
        }
        for cid, ps in passes.items()
    ]
    data = {
        "format": "pytest-opsladder/results",
        "schema_version": 1,
        "created_at": created,
        "baseline": {"name": "prod"},
        "candidate": {"name": "next"},
        "cases": cases,
    }
    path.write_text(json.dumps(data))
    return path


def test_epochs_that_disagree_make_a_case_flaky(tmp_path: Path) -> None:
    root = tmp_path / "nm"
    first = _results(
        tmp_path / "r1.json",
        "2026-11-01T00:00:00Z",
        {"steady": [True, True, True], "coin": [True, False, True]},
    )
    assert record_results(root, first) == 6
    hist = case_histories(root)
    assert hist["coin"].flaky
    assert not hist["steady"].flaky
    assert hist["coin"].flips == 2
    assert hist["steady"].pass_rate == 1.0


def test_a_flip_between_files_is_counted_but_not_flaky(tmp_path: Path) -> None:
    root = tmp_path / "nm"
    record_results(root, _results(tmp_path / "a.json", "2026-11-01T00:00:00Z", {"c": [True]}))
    record_results(root, _results(tmp_path / "b.json", "2026-11-02T00:00:00Z", {"c": [False]}))
    hist = case_histories(root)["c"]
    assert (hist.runs, hist.flips, hist.flaky) == (2, 1, False)


def test_recording_the_same_file_twice_adds_nothing(tmp_path: Path) -> None:
    path = _results(tmp_path / "r.json", "2026-11-01T00:00:00Z", {"c": [True, False]})
    assert record_results(tmp_path / "nm", path) == 2
    assert record_results(tmp_path / "nm", path) == 0


def test_cli_record_then_stats_flaky(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _results(
        tmp_path / "r.json", "2026-11-01T00:00:00Z", {"coin": [True, False], "ok": [True, True]}
    )
    root = str(tmp_path / "nm")
    assert main(["nightmare", "--dir", root, "record", str(path)]) == 0
    assert main(["nightmare", "--dir", root, "stats", "--flaky"]) == 0
    out = capsys.readouterr().out
    assert "1 flaky" in out
    assert "coin" in out
    assert "FLAKY" in out
    assert " ok " not in out


def test_a_file_that_is_not_results_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "other"}')
    assert main(["nightmare", "--dir", str(tmp_path), "record", str(bad)]) == 2
    assert "is not a results JSON" in capsys.readouterr().err
