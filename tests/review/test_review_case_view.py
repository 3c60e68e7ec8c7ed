"""The review page shows a run with the drift report's per-case view (failed checks first,
the trajectory table, the output), rendered without any script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pytest_opsladder import tool
from pytest_opsladder.capture.production import capture
from pytest_opsladder.reports._headless import chromium
from pytest_opsladder.reports.case_view import summary_from_record
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.writer import write_reports
from pytest_opsladder.review.server import ReviewSession, make_server, serve_in_thread, url_of
from pytest_opsladder.store.index import entry_path, iter_index
from pytest_opsladder.store.runs import load_run

TABLE_TEXT = "return [...arguments[0].querySelectorAll('tr')].map(r => r.innerText)"


@tool
def search_orders(customer: str) -> list[str]:
    return [f"order-of-{customer}"]


@pytest.fixture
def failing_run_store(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    with capture("refund-twice", "prod", root, input={"message": "charged twice"}) as run:
        search_orders("c-17")
        run.output = "We will look into it."
        run.extra["checks"] = [
            {"check": "contains: refund", "passed": False, "failure": "'refund' not in output"}
        ]
        run.extra["passed"] = False
    return root


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


def _review(browser: Any, store: Path, nightmare: Path) -> Any:
    session = ReviewSession(store, list(iter_index(store / "index.jsonl")), nightmare)
    server = make_server(session)
    thread = serve_in_thread(server)
    try:
        browser.get(url_of(server))
        return browser.find_element(By.CSS_SELECTOR, "section.run")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_reviewed_run_reads_like_a_case_of_the_drift_report(
    browser: Any, failing_run_store: Path, tmp_path: Path
) -> None:
    section = _review(browser, failing_run_store, tmp_path / "nm")
    assert section.find_element(By.CSS_SELECTOR, ".why .reason").text == (
        "contains: refund: 'refund' not in output"
    )
    review_rows = browser.execute_script(
        TABLE_TEXT, section.find_element(By.CSS_SELECTOR, ".run table.trajectory")
    )
    review_output = section.find_element(By.CSS_SELECTOR, ".run pre.output").text
    # the same run as a regressed case of a drift report, opened in the report
    (entry,) = iter_index(failing_run_store / "index.jsonl")
    summary = summary_from_record(load_run(failing_run_store, entry_path(entry)))
    results = sample_results(1, seed=1, regress_fraction=1.0)
    results["cases"][0]["candidate"]["runs"] = [summary]
    results["cases"][0]["first_divergence"] = None
    report = write_reports(results, tmp_path / "report")["report.html"]
    browser.get(report.as_uri())
    browser.find_element(By.CSS_SELECTOR, "#regressed-table tr.lead-row").click()
    column = WebDriverWait(browser, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "tr.details .run-candidate")
    )
    report_rows = browser.execute_script(
        TABLE_TEXT, column.find_element(By.CSS_SELECTOR, "table.trajectory")
    )
    assert review_rows == report_rows
    assert review_rows[1].split("\t") == [
        "0",
        "search_orders",
        '{"customer":"c-17"}',
        '["order-of-c-17"]',
    ]
    assert review_output == column.find_element(By.CSS_SELECTOR, "pre.output").text
    assert "contains: refund: 'refund' not in output" in column.text
