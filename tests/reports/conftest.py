"""Fixtures of the reports' tests: a real headless Chromium and sample results."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_opsladder.reports._headless import chromium
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.writer import write_reports


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by chromedriver, headless, offline, fresh profile."""
    with chromium() as driver:
        yield driver


@pytest.fixture
def results() -> dict[str, Any]:
    """A small seeded results dict with regressions, several tags and 2 epochs."""
    return sample_results(40, seed=3, epochs=2, regress_fraction=0.15)


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Callable[[dict[str, Any]], Any]:
    """Write a results dict's reports, open report.html by file:// URL; return the driver."""

    def _open(res: dict[str, Any], name: str = "report.html") -> Any:
        paths = write_reports(res, tmp_path / "out")
        browser.get_log("browser")  # drop what an earlier page logged
        browser.get(paths[name].as_uri())
        return browser

    return _open


@pytest.fixture
def console_errors(browser: Any) -> Callable[[], list[dict[str, Any]]]:
    """Console messages at error level since the last call (logs are drained on read)."""

    def _errors() -> list[dict[str, Any]]:
        return [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]

    return _errors


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped demo's main job, run as a user runs it; its reports directory."""
    out = tmp_path_factory.mktemp("demo-reports")
    cmd = [sys.executable, "-m", "pytest", "nightmare_set", "--opsladder-shadow"]
    cmd += ["--opsladder-report-dir", str(out), "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # the gate fails
    assert (out / "report.html").is_file(), done.stdout[-3000:]
    return out
