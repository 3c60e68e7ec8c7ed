"""`opsladder report`: re-render from results, and the drift history over a directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from pytest_opsladder.cli import main
from pytest_opsladder.reports.sample import sample_results


def _nightly(directory: Path, n: int) -> list[dict[str, Any]]:
    """n nightly results files, pass rate sliding down; the last ones fail the gate."""
    runs = []
    for i in range(n):
        res = sample_results(30, seed=i, regress_fraction=0.01 + 0.05 * i)
        res["created_at"] = f"2026-11-{10 + i:02d}T02:00:00.000Z"
        night = directory / f"night-{n - i}"  # names sort opposite to time: order by created_at
        night.mkdir(parents=True)
        (night / "results.json").write_text(json.dumps(res), "utf-8")
        runs.append(res)
    return runs


def test_report_rerenders_next_to_the_results(tmp_path: Path) -> None:
    res = sample_results(10, seed=2)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(res), "utf-8")
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_opsladder.cli", "report", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"drift gate {res['verdict'].upper()} at alpha=0.01")
    assert {p.name for p in tmp_path.iterdir()} == {
        "results.json",
        "report.html",
        "summary.md",
        "junit.xml",
    }
    assert path.read_bytes() == before  # the input is not rewritten in place


def test_report_needs_exactly_one_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "r.json"), "--history", str(tmp_path)]) == 2
    assert "exactly one of RESULTS.json or --history DIR" in capsys.readouterr().err


def test_history_marks_failed_runs_in_time_order(
    tmp_path: Path, browser: Any, console_errors: Callable[[], list[Any]]
) -> None:
    runs = _nightly(tmp_path / "nightly", 6)
    (tmp_path / "nightly" / "unrelated.json").write_text("[1, 2]", "utf-8")
    assert (
        main(["report", "--history", str(tmp_path / "nightly"), "-o", str(tmp_path / "out")]) == 0
    )
    browser.get_log("browser")
    browser.get((tmp_path / "out" / "history.html").as_uri())
    gates = [
        r.get_attribute("data-gate")
        for r in browser.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    ]
    assert gates == [r["verdict"] for r in runs]
    assert "fail" in gates
    assert "pass" in gates
    gated = [m["name"] for m in runs[0]["metrics"] if m["gated"]]
    trends = browser.find_elements(By.CSS_SELECTOR, "svg.trend")
    assert [t.get_attribute("data-metric") for t in trends] == gated
    points = trends[0].find_elements(By.CSS_SELECTOR, "circle.point")
    assert [p.get_attribute("data-gate") for p in points] == gates
    failed = trends[0].find_elements(By.CSS_SELECTOR, "rect.failed-run")
    assert len(failed) == gates.count("fail")
    assert "unrelated.json" in browser.find_element(By.TAG_NAME, "main").text
    assert console_errors() == []


def test_history_refuses_an_unknown_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _nightly(tmp_path, 2)
    bad = tmp_path / "night-1" / "results.json"
    bad.write_text(json.dumps({**sample_results(2), "schema_version": 3}), "utf-8")
    assert main(["report", "--history", str(tmp_path)]) == 2
    assert f"{str(bad)!r} has schema_version 3" in capsys.readouterr().err


def test_history_of_an_empty_directory(tmp_path: Path) -> None:
    assert main(["report", "--history", str(tmp_path)]) == 0
    assert "No results files were found" in (tmp_path / "history.html").read_text("utf-8")
