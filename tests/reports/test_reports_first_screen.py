"""The demo's report answers 'what regressed, and why' on the first screen (1366 x 768)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pytest_opsladder.reports.case_reasons import case_reasons
from pytest_opsladder.reports.job_summary import GITHUB_SUMMARY_LIMIT, markdown_summary
from pytest_opsladder.reports.sample import sample_results
from pytest_opsladder.reports.writer import write_reports

VIEWPORT = {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False}
# The text of every element whose top edge is inside the viewport: what a reviewer sees first.
FIRST_SCREEN_TEXT = """
const h = window.innerHeight, out = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const node = walker.currentNode, range = document.createRange();
  range.selectNodeContents(node);
  const box = range.getBoundingClientRect();
  if (box.height > 0 && box.top >= 0 && box.bottom <= h) { out.push(node.textContent); }
}
return out.join(" ").replace(/\\s+/g, " ");
"""
NOTHING_CUT_OFF = """
return [...document.querySelectorAll('.scroll, main, body')]
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className || e.tagName);
"""


def _open_at_1366(browser: Any, path: Path) -> Any:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", VIEWPORT)
    browser.get_log("browser")
    browser.get(path.as_uri())
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1"
    )
    return browser


def _regressed(results: dict[str, Any]) -> list[dict[str, Any]]:
    from pytest_opsladder.reports.case_payload import ordered_cases

    return [c for c in ordered_cases(results) if c["verdict"] == "regressed"]


def test_the_demo_report_leads_with_the_regressed_cases_and_their_failed_checks(
    browser: Any, demo_reports: Path, tmp_path: Path
) -> None:
    results = json.loads((demo_reports / "results.json").read_text("utf-8"))
    driver = _open_at_1366(browser, demo_reports / "report.html")
    try:
        assert driver.execute_script("return [innerWidth, innerHeight]") == [1366, 768]
        text = driver.execute_script(FIRST_SCREEN_TEXT)
        assert f"Drift gate: {results['verdict'].upper()}" in text
        pass_rate = driver.find_element(By.ID, "pass-rate").text
        assert "pass rate 100.0% → " in pass_rate
        assert "pts" in pass_rate
        assert pass_rate.split(" (")[0] in text  # baseline -> candidate and the change
        regressed = _regressed(results)
        assert len(regressed) >= 5
        for case in regressed[:5]:
            row = driver.find_element(
                By.CSS_SELECTOR, f"#regressed-table tr[data-case='{case['case_id']}']"
            )
            assert row.rect["y"] + row.rect["height"] <= 768, case["case_id"]
            assert case["case_id"] in text
            check = case["candidate"]["runs"][0]["failed_checks"][0]
            assert check in row.text
            assert check in text
        assert driver.execute_script(NOTHING_CUT_OFF) == []
        png = driver.get_screenshot_as_png()
        (tmp_path / "first-screen.png").write_bytes(png)
        with Image.open(tmp_path / "first-screen.png") as image:
            assert image.size == (1366, 768)
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_first_screen_row_opens_the_side_by_side_view_in_place(
    browser: Any, demo_reports: Path
) -> None:
    results = json.loads((demo_reports / "results.json").read_text("utf-8"))
    case = _regressed(results)[0]
    driver = _open_at_1366(browser, demo_reports / "report.html")
    try:
        driver.find_element(
            By.CSS_SELECTOR, f"#regressed-table tr[data-case='{case['case_id']}']"
        ).click()
        holder = WebDriverWait(driver, 20).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "#regressed-table tr.details .side")
        )
        assert holder.find_elements(By.CSS_SELECTOR, ".run-baseline table.trajectory")
        assert holder.find_elements(By.CSS_SELECTOR, "tr.diverged")
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_demo_summary_lists_every_regressed_case_with_its_failed_check(
    demo_reports: Path,
) -> None:
    results = json.loads((demo_reports / "results.json").read_text("utf-8"))
    text = (demo_reports / "summary.md").read_text("utf-8")
    lines = text.splitlines()
    regressed = _regressed(results)
    head = text.index("### Regressed")
    assert head < text.index("### Gated metrics")  # cases first, metrics after
    for case in regressed:
        row = next(line for line in lines if line.startswith(f"| {case['case_id']} |"))
        check = case["candidate"]["runs"][0]["failed_checks"][0]
        ((kind, args),) = yaml.safe_load(check).items()  # the check as its case file wrote it
        assert kind in row  # the check's kind ...
        assert args["value"] in row  # ... and what it wanted


def test_improvements_are_listed_as_plainly_as_regressions(tmp_path: Path) -> None:
    res = sample_results(60, seed=4, regress_fraction=0.2)
    improved = [c for c in res["cases"] if c["verdict"] == "improved"]
    assert improved
    for case in improved:  # an improvement: the baseline failed, the candidate passes
        case["baseline"]["runs"][0]["passed"] = False
        case["baseline"]["runs"][0]["failed_checks"] = [f"contains: fixed-{case['case_id']}"]
    paths = write_reports(res, tmp_path)
    html = paths["report.html"].read_text("utf-8")
    summary = paths["summary.md"].read_text("utf-8")
    assert f"Improved ({len(improved)})" in html
    assert f"Improved ({len(improved)})" in summary
    for case in improved:
        assert (
            f'data-case="{case["case_id"]}"'
            in html.split('id="improved"')[1].split("</section>")[0]
        )
        assert case_reasons(case) == [f"contains: fixed-{case['case_id']}"]
        assert f"fixed-{case['case_id']}" in summary


def test_a_huge_run_keeps_summary_md_under_githubs_limit(tmp_path: Path) -> None:
    res = sample_results(6000, seed=5, regress_fraction=0.9, output_words=5)
    for case in res["cases"]:
        for run in case["candidate"]["runs"]:
            run["failed_checks"] = ["contains: " + "x" * 400]
    text = markdown_summary(res).encode("utf-8")
    assert len(text) < GITHUB_SUMMARY_LIMIT
    assert b"more regressed case(s): see report.html" in text
    assert text.count(b"\n| case-") > 500
